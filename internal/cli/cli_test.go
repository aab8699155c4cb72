package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), append(args, "--log-file", ""), &out, &errb)
	return code, out.String(), errb.String()
}

// Every command and subcommand answers --help with its own usage.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	root := newRoot(&App{})
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			paths = append(paths, p)
			// The tree is walked here, not in the parallel subtests: cobra
			// builds flag sets lazily, so sharing it across goroutines races.
			if strings.TrimSpace(sub.Short) == "" {
				t.Errorf("%v has no short description", p)
			}
			walk(sub, p)
		}
	}
	walk(root, nil)
	if len(paths) < 5 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(p, "_"), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := run(append(p, "--help")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, "novawh "+strings.Join(p, " ")) {
				t.Fatalf("help of %v lacks usage:\n%s", p, out)
			}
		})
	}
}

// Connection problems are one line on stderr, never a stack or usage dump,
// and never show a password.
func TestBadDatabaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		url  string
		want string
	}{
		{"refused", "postgres://someone:s3cret@127.0.0.1:1/nowhere?connect_timeout=2", "127.0.0.1:1/nowhere"},
		{"malformed", "postgres://a:b@[::1/x", "invalid database URL"},
		{"bad parameter", "postgres://127.0.0.1/x?sslmode=bogus", "invalid database URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{{"migrate", "version"}, {"registry", "check"}} {
				code, _, errOut := run(append(args, "--database-url", tc.url)...)
				if code == 0 {
					t.Fatalf("%v: exit 0", args)
				}
				lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
				last := lines[len(lines)-1]
				if !strings.HasPrefix(last, "novawh: error: ") || !strings.Contains(last, tc.want) {
					t.Fatalf("%v: stderr %q lacks a one-line error containing %q", args, errOut, tc.want)
				}
				if strings.Contains(errOut, "s3cret") || strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "Usage:") {
					t.Fatalf("%v: stderr leaks a password, a stack or usage: %q", args, errOut)
				}
			}
		})
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"nosuchcommand"}, {"migrate", "down", "zero"}, {"--log-format", "xml", "version"}, {"migrate", "up", "--nosuchflag"}} {
		code, _, errOut := run(args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errOut)
		}
	}
}
