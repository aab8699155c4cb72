package config_test

import (
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/config"
)

type pullSection struct {
	Timeout string            `yaml:"timeout"`
	Series  map[string]string `yaml:"series"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	const doc = "version: 1\n# comment\nrun: {}\npull:\n  timeout: 5s\n  series:\n    a: b\n"
	f, err := config.Parse([]byte(doc), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p pullSection
	if err := f.Decode("pull", &p); err != nil {
		t.Fatal(err)
	}
	if p.Timeout != "5s" || p.Series["a"] != "b" {
		t.Fatalf("decoded %+v", p)
	}
	// A missing section leaves the value as it was.
	q := pullSection{Timeout: "default"}
	if err := f.Decode("export", &q); err != nil || q.Timeout != "default" {
		t.Fatalf("missing section: %+v %v", q, err)
	}
}

// Errors name the file and the line of the file itself.
func TestDecodeErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, want string }{
		{"unknown key", "version: 1\nrun: {}\n\npull:\n  timeout: 5s\n  timeuot: 6s\n", "x.yaml: section pull: yaml: unmarshal errors:\n  line 6: field timeuot not found"},
		{"wrong type", "version: 1\npull:\n  series: [1, 2]\n", "line 3: cannot unmarshal !!seq into map[string]string"},
		{"unknown section", "version: 1\npul: {}\n", "x.yaml:2:1: unknown section \"pul\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := config.Parse([]byte(tc.doc), "x.yaml")
			if err == nil {
				var p pullSection
				err = f.Decode("pull", &p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
