package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Resolver gives a setting its value from, in order of precedence: a
// command-line flag the user set, an environment variable, the
// configuration file, the package's default. It is the one place that
// precedence is written: commands bind their flags and variables to the
// fields of a package's Config (which holds the defaults) and call
// Resolve.
type Resolver struct {
	// File is the configuration file (nil: none).
	File *File
	// Flags are the command's parsed flags (nil: none). Only flags the
	// user set (Changed) count; a flag's default is not a value.
	Flags *pflag.FlagSet
	// LookupEnv reads the environment (nil: os.LookupEnv). Tests inject it.
	LookupEnv func(string) (string, bool)
}

// Setting binds one field of a Config to a flag and/or an environment
// variable. Build it with Bind.
type Setting struct {
	flag, env  string
	allowEmpty bool
	set        func(s string) error
	// fromFlag reads the flag's value now and returns what applies it.
	fromFlag func(f *pflag.Flag) (apply func(), err error)
}

// Value is what a Setting can hold.
type Value interface {
	string | bool | int | int32 | int64 | float64 | time.Duration | []string
}

// Bind ties *p to the flag (its name without dashes; "" for none) and
// the environment variable env ("" for none). An environment variable set
// to the empty string counts as unset.
func Bind[T Value](p *T, flag, env string) Setting {
	return Setting{
		flag: flag,
		env:  env,
		set: func(s string) error {
			v, err := parse[T](s)
			if err == nil {
				*p = v
			}
			return err
		},
		fromFlag: func(f *pflag.Flag) (func(), error) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				if sp, ok := any(p).(*[]string); ok {
					list := append([]string(nil), sv.GetSlice()...)
					return func() { *sp = list }, nil
				}
			}
			v, err := parse[T](f.Value.String())
			if err != nil {
				return nil, err
			}
			return func() { *p = v }, nil
		},
	}
}

// AllowEmpty makes an environment variable set to "" a value (NOVAWH_LOG_FILE=""
// turns the log file off) instead of unset.
func (s Setting) AllowEmpty() Setting {
	s.allowEmpty = true
	return s
}

// Resolve decodes section of the file into dst (a pointer to the Config,
// already holding the defaults; keys the file lacks keep them), then
// applies each setting's environment variable, then its flag when the
// user set it. Errors name the file and line, the variable or the flag.
func (r Resolver) Resolve(section string, dst any, settings ...Setting) error {
	// Read the flags first: a flag bound to the very field being resolved
	// is overwritten by the file below.
	flagged := make([]func(), len(settings))
	for i, s := range settings {
		if s.flag == "" || r.Flags == nil {
			continue
		}
		if f := r.Flags.Lookup(s.flag); f != nil && f.Changed {
			apply, err := s.fromFlag(f)
			if err != nil {
				return fmt.Errorf("--%s %q: %w", s.flag, f.Value.String(), err)
			}
			flagged[i] = apply
		}
	}
	if r.File != nil && section != "" {
		if err := r.File.Decode(section, dst); err != nil {
			return err
		}
	}
	lookup := r.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for i, s := range settings {
		if flagged[i] != nil {
			flagged[i]()
			continue
		}
		if s.env != "" {
			if v, ok := lookup(s.env); ok && (v != "" || s.allowEmpty) {
				if err := s.set(v); err != nil {
					return fmt.Errorf("environment variable %s=%q: %w", s.env, v, err)
				}
			}
		}
	}
	return nil
}

// parse reads s as a T: durations as Go durations (90s, 1h30m), booleans
// as true/false/1/0 in any case, lists comma-separated.
func parse[T Value](s string) (T, error) {
	var zero T
	var v any
	var err error
	switch any(zero).(type) {
	case time.Duration:
		v, err = time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			err = fmt.Errorf("want a duration such as 90s or 1h30m")
		}
	case string:
		v = s
	case bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "true":
			v = true
		case "0", "false":
			v = false
		default:
			err = fmt.Errorf("want true or false (1 or 0)")
		}
	case int, int32, int64:
		var n int64
		n, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			err = fmt.Errorf("want an integer")
		}
		switch any(zero).(type) {
		case int:
			v = int(n)
		case int32:
			if n != int64(int32(n)) {
				err = fmt.Errorf("out of range")
			}
			v = int32(n)
		default:
			v = n
		}
	case float64:
		v, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			err = fmt.Errorf("want a number")
		}
	case []string:
		var list []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		v = list
	}
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}
