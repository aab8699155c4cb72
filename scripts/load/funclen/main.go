// Command funclen lists the longest functions of Go packages (non-test
// files), in lines from `func` to the closing brace, longest first.
//
//	go run ./scripts/load/funclen [-n 5] ./internal/load ./internal/pull
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	n := flag.Int("n", 5, "functions listed per package")
	flag.Parse()
	for _, dir := range flag.Args() {
		if err := list(dir, *n); err != nil {
			fmt.Fprintln(os.Stderr, "funclen:", err)
			os.Exit(1)
		}
	}
}

type fn struct {
	name  string
	lines int
	pos   string
}

func list(dir string, n int) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	var fns []fn
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			return err
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) > 0 {
				t := fd.Recv.List[0].Type
				if s, ok := t.(*ast.StarExpr); ok {
					t = s.X
				}
				if id, ok := t.(*ast.Ident); ok {
					name = id.Name + "." + name
				}
			}
			start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
			fns = append(fns, fn{name, end.Line - start.Line + 1, fmt.Sprintf("%s:%d", filepath.Base(f), start.Line)})
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].lines > fns[j].lines })
	fmt.Printf("%s (%d functions)\n", dir, len(fns))
	for i := 0; i < n && i < len(fns); i++ {
		fmt.Printf("  %4d lines  %-34s %s\n", fns[i].lines, fns[i].name, fns[i].pos)
	}
	return nil
}
