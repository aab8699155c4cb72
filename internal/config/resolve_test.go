package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/novacorrente/novawh/internal/config"
)

type exportSection struct {
	To      string        `yaml:"to"`
	Tables  []string      `yaml:"tables"`
	Workers int           `yaml:"workers"`
	Conns   int32         `yaml:"conns"`
	Ratio   float64       `yaml:"ratio"`
	Timeout time.Duration `yaml:"timeout"`
	Full    bool          `yaml:"full"`
	Nested  struct {
		Webhook string `yaml:"webhook"`
	} `yaml:"nested"`
}

func defaults() exportSection {
	return exportSection{To: "exports", Workers: 2, Conns: 10, Ratio: 0.1, Timeout: time.Minute}
}

// Flag > environment > file > default, for every kind of value.
func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	const file = "version: 1\nexport:\n  to: /srv/file\n  workers: 3\n  tables: [a, b]\n  timeout: 30s\n  nested: {webhook: http://file/hook}\n"
	cases := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  func(*exportSection)
	}{
		{"defaults", "", nil, nil, func(*exportSection) {}},
		{"file", file, nil, nil, func(c *exportSection) {
			c.To, c.Workers, c.Tables, c.Timeout, c.Nested.Webhook = "/srv/file", 3, []string{"a", "b"}, 30*time.Second, "http://file/hook"
		}},
		{"env beats file", file, map[string]string{"X_TO": "/srv/env", "X_TIMEOUT": "2m", "X_FULL": "TRUE", "X_HOOK": "http://env/hook", "X_TABLES": "c, d,"}, nil, func(c *exportSection) {
			c.To, c.Workers, c.Tables, c.Timeout, c.Full, c.Nested.Webhook = "/srv/env", 3, []string{"c", "d"}, 2*time.Minute, true, "http://env/hook"
		}},
		{"empty env is unset", file, map[string]string{"X_TO": ""}, nil, func(c *exportSection) {
			c.To, c.Workers, c.Tables, c.Timeout, c.Nested.Webhook = "/srv/file", 3, []string{"a", "b"}, 30*time.Second, "http://file/hook"
		}},
		{"flag beats env and file", file, map[string]string{"X_TO": "/srv/env", "X_FULL": "1"},
			[]string{"--to", "/srv/flag", "--workers", "8", "--tables", "x,y", "--timeout", "5s", "--full=false", "--conns", "4", "--ratio", "0.5", "--alert-webhook", "http://flag/hook"},
			func(c *exportSection) {
				c.To, c.Workers, c.Tables, c.Timeout, c.Full, c.Conns, c.Ratio, c.Nested.Webhook = "/srv/flag", 8, []string{"x", "y"}, 5*time.Second, false, 4, 0.5, "http://flag/hook"
			}},
		{"a flag left at its default does not count", file, nil, []string{}, func(c *exportSection) {
			c.To, c.Workers, c.Tables, c.Timeout, c.Nested.Webhook = "/srv/file", 3, []string{"a", "b"}, 30*time.Second, "http://file/hook"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, want := defaults(), defaults()
			tc.want(&want)
			// Flags bound to the same struct, as the commands do: parsing
			// writes into got before the file is read.
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			fs.StringVar(&got.To, "to", got.To, "")
			fs.StringSliceVar(&got.Tables, "tables", got.Tables, "")
			fs.IntVar(&got.Workers, "workers", 99, "a default that is not the config's")
			fs.Int32Var(&got.Conns, "conns", got.Conns, "")
			fs.Float64Var(&got.Ratio, "ratio", got.Ratio, "")
			fs.DurationVar(&got.Timeout, "timeout", got.Timeout, "")
			fs.BoolVar(&got.Full, "full", got.Full, "")
			var hook string // a flag bound elsewhere
			fs.StringVar(&hook, "alert-webhook", "", "")
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			if tc.flags == nil {
				got = defaults() // no flag parsing at all (the API's jobs)
			}
			r := config.Resolver{Flags: fs, LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			if tc.file != "" {
				f, err := config.Parse([]byte(tc.file), "novawh.yaml")
				if err != nil {
					t.Fatal(err)
				}
				r.File = f
			}
			err := r.Resolve("export", &got,
				config.Bind(&got.To, "to", "X_TO"),
				config.Bind(&got.Tables, "tables", "X_TABLES"),
				config.Bind(&got.Workers, "workers", ""),
				config.Bind(&got.Conns, "conns", ""),
				config.Bind(&got.Ratio, "ratio", ""),
				config.Bind(&got.Timeout, "timeout", "X_TIMEOUT"),
				config.Bind(&got.Full, "full", "X_FULL"),
				config.Bind(&got.Nested.Webhook, "alert-webhook", "X_HOOK"),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("resolved\n  %+v\nwant\n  %+v", got, want)
			}
		})
	}
}

// A bad value names where it came from.
func TestResolveErrorsNameTheSource(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  string
	}{
		{"env duration", "", map[string]string{"X_TIMEOUT": "soon"}, nil, `environment variable X_TIMEOUT="soon": want a duration`},
		{"env bool", "", map[string]string{"X_FULL": "yes"}, nil, `environment variable X_FULL="yes": want true or false`},
		{"env int", "", map[string]string{"X_WORKERS": "many"}, nil, `environment variable X_WORKERS="many": want an integer`},
		{"env int32 range", "", map[string]string{"X_CONNS": "99999999999"}, nil, `X_CONNS="99999999999": out of range`},
		{"file line", "version: 1\nexport:\n  workers: lots\n", nil, nil, "novawh.yaml: section export: yaml: unmarshal errors:\n  line 3:"},
		{"file unknown key", "version: 1\nexport:\n  wrokers: 2\n", nil, nil, "line 3: field wrokers not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := defaults()
			r := config.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			if tc.file != "" {
				f, err := config.Parse([]byte(tc.file), "novawh.yaml")
				if err != nil {
					t.Fatal(err)
				}
				r.File = f
			}
			err := r.Resolve("export", &c,
				config.Bind(&c.Timeout, "", "X_TIMEOUT"),
				config.Bind(&c.Full, "", "X_FULL"),
				config.Bind(&c.Workers, "", "X_WORKERS"),
				config.Bind(&c.Conns, "", "X_CONNS"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
