package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Sidecar is the optional <file>.meta.json next to an input.
type Sidecar struct {
	ModelVersion string `json:"model_version"`
	GeneratedAt  string `json:"generated_at"`
	Source       string `json:"source"`
	DatasetID    string `json:"dataset_id"`
	AsOf         string `json:"as_of"`
}

// resolveMeta merges flags, the sidecar and the as-of date.
func resolveMeta(in *input, opts Options) (resolvedMeta, error) {
	rm := resolvedMeta{values: map[string]string{}}
	var sc Sidecar
	if in.sidecar != "" {
		b, err := os.ReadFile(in.sidecar)
		switch {
		case err == nil:
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sc); err != nil {
				return rm, &FileError{Msg: fmt.Sprintf("sidecar %s: %v", filepath.Base(in.sidecar), err)}
			}
			if sc.GeneratedAt != "" {
				t, err := parseTimestamp(nil, []byte(sc.GeneratedAt))
				if err != nil {
					return rm, &FileError{Msg: fmt.Sprintf("sidecar %s: generated_at %q is not a timestamp (RFC 3339)", filepath.Base(in.sidecar), sc.GeneratedAt)}
				}
				sc.GeneratedAt = t.UTC().Format(time.RFC3339Nano)
			}
			if sc.AsOf != "" {
				if _, err := time.Parse(time.DateOnly, sc.AsOf); err != nil {
					return rm, &FileError{Msg: fmt.Sprintf("sidecar %s: as_of %q is not a date (2006-01-02)", filepath.Base(in.sidecar), sc.AsOf)}
				}
			}
		case errors.Is(err, os.ErrNotExist):
		default:
			return rm, &FileError{Msg: fmt.Sprintf("sidecar %s: %v", in.sidecar, err)}
		}
	}
	set := func(k, flag, side string) {
		switch {
		case flag != "":
			rm.values[k] = flag
		case side != "":
			rm.values[k] = side
		}
	}
	gen := ""
	if opts.Meta.GeneratedAt != nil {
		gen = opts.Meta.GeneratedAt.UTC().Format(time.RFC3339Nano)
	}
	set("model_version", opts.Meta.ModelVersion, sc.ModelVersion)
	set("generated_at", gen, sc.GeneratedAt)
	set("source", opts.Meta.Source, sc.Source)
	set("dataset_id", opts.Meta.DatasetID, sc.DatasetID)
	switch {
	case opts.AsOf != nil:
		rm.asOf = opts.AsOf.Format(time.DateOnly)
	case sc.AsOf != "":
		rm.asOf = sc.AsOf
	case rm.values["generated_at"] != "":
		t, _ := time.Parse(time.RFC3339Nano, rm.values["generated_at"])
		rm.asOf = t.UTC().Format(time.DateOnly)
	}
	return rm, nil
}
