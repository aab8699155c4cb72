package panics

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestRecover(t *testing.T) {
	t.Parallel()
	run := func(f func()) (err error) {
		defer Recover(&err, "the test body")
		f()
		return nil
	}
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"value", func() { panic("boom") }, "internal error: panic in the test body: boom"},
		{"runtime error", func() {
			var s []int
			_ = s[len(s)+3]
		}, "index out of range"},
		{"no panic", func() {}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := run(c.f)
			if c.want == "" {
				if err != nil {
					t.Fatalf("err = %v without a panic", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || !strings.Contains(string(pe.Stack), "panics_test.go") {
				t.Fatalf("err = %v (stack %d bytes)", err, len(pe.Stack))
			}
		})
	}
	var re runtime.Error
	if err := run(func() { var m map[string]int; m["x"] = 1 }); !errors.As(err, &re) {
		t.Fatalf("a runtime error is not unwrapped: %v", err)
	}
}
