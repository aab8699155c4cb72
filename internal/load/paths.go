package load

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func hasExt(name string, exts ...string) bool {
	e := strings.ToLower(filepath.Ext(name))
	for _, x := range exts {
		if e == x {
			return true
		}
	}
	return false
}

func baseOf(name string) string {
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	return name
}

type badArg struct {
	path string
	err  error
}

// expand turns FILE|DIR|GLOB arguments into a sorted list of files.
func expand(args []string, src *Source) ([]string, []badArg) {
	var files []string
	var bad []badArg
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	wanted := func(name string) bool {
		if strings.HasSuffix(name, ".meta.json") || strings.HasPrefix(filepath.Base(name), ".") {
			return false
		}
		switch src.Format {
		case "csv":
			return hasExt(name, ".csv", ".txt", ".tsv")
		case "parquet":
			return hasExt(name, ".parquet")
		}
		return hasExt(name, ".csv", ".txt", ".tsv", ".parquet")
	}
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			entries, err := os.ReadDir(a)
			if err != nil {
				bad = append(bad, badArg{a, err})
				continue
			}
			n := 0
			for _, e := range entries {
				if e.Type().IsRegular() && wanted(e.Name()) {
					add(filepath.Join(a, e.Name()))
					n++
				}
			}
			if n == 0 {
				bad = append(bad, badArg{a, fmt.Errorf("%s: directory has no %s file", a, src.Format)})
			}
		case err == nil:
			add(a)
		case strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				bad = append(bad, badArg{a, fmt.Errorf("%s: %w", a, gerr)})
				continue
			}
			n := 0
			for _, p := range m {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && !strings.HasSuffix(p, ".meta.json") {
					add(p)
					n++
				}
			}
			if n == 0 {
				bad = append(bad, badArg{a, fmt.Errorf("%s: no file matches", a)})
			}
		default:
			bad = append(bad, badArg{a, fmt.Errorf("%s: %w", a, errors.Unwrap(err))})
		}
	}
	sort.Strings(files)
	return files, bad
}
