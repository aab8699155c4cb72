package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/logx"
	"github.com/novacorrente/novawh/internal/pgerr"
	"github.com/novacorrente/novawh/internal/status/statusdb"
)

// Run is one row of meta.runs.
type Run struct {
	RunID      int64      `json:"run_id"`
	Trigger    string     `json:"trigger"`
	Status     string     `json:"status"`
	ExitCode   *int       `json:"exit_code"`
	FailedStep string     `json:"failed_step,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	DurationMS *int64     `json:"duration_ms"`
	Steps      []RunStep  `json:"steps"`
}

// RunStep is the summary of one step of a run.
type RunStep struct {
	Name       string           `json:"name"`
	Status     string           `json:"status"`
	DurationMS int64            `json:"duration_ms"`
	Counts     map[string]int64 `json:"counts,omitempty"`
}

// Source is the freshness of one input source.
type Source struct {
	Source          string     `json:"source"`
	Loads           int64      `json:"loads"`
	RowsLoaded      int64      `json:"rows_loaded"`
	RowsRejected    int64      `json:"rows_rejected"`
	LastLoadedAt    *time.Time `json:"last_loaded_at"`
	AgeSeconds      *int64     `json:"age_seconds"`
	MaxBusinessDate *string    `json:"max_business_date"`
	LastStatus      string     `json:"last_status"`
	LastError       string     `json:"last_error,omitempty"`
	Watermark       *string    `json:"watermark,omitempty"`
}

// Table is the row count of one relation.
type Table struct {
	Layer string `json:"layer"`
	Name  string `json:"name"`
	Kind  string `json:"kind"` // table, partitioned table, view, materialized view
	// Rows is the row count; nil when not counted (views, unless Exact).
	Rows *int64 `json:"rows"`
	// Estimated: Rows is the statistics' estimate (tables too large to
	// count quickly), not count(*).
	Estimated bool   `json:"estimated"`
	Note      string `json:"note,omitempty"`
}

// Layer totals a layer.
type Layer struct {
	Layer string `json:"layer"`
	Rows  int64  `json:"rows"`
	// Estimated: the total includes estimates.
	Estimated bool    `json:"estimated"`
	Tables    []Table `json:"tables"`
}

// Export is the last export run.
type Export struct {
	RunID        int64      `json:"run_id"`
	Target       string     `json:"target"`
	Status       string     `json:"status"`
	Full         bool       `json:"full"`
	FilesWritten int64      `json:"files_written"`
	FilesRemoved int64      `json:"files_removed"`
	RowsWritten  int64      `json:"rows_written"`
	BytesWritten int64      `json:"bytes_written"`
	Error        string     `json:"error,omitempty"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	// LastSucceededAt is when the target last received a complete export.
	LastSucceededAt *time.Time `json:"last_succeeded_at"`
}

// Status is everything `novawh status` shows.
type Status struct {
	Database  string    `json:"database"`
	CheckedAt time.Time `json:"checked_at"`
	Runs      []Run     `json:"runs"`
	Sources   []Source  `json:"sources"`
	Layers    []Layer   `json:"layers"`
	Export    *Export   `json:"last_export"`
}

// DefaultExactBytes is the size up to which a table is counted exactly
// (count(*) over at most 32 MiB is quick); larger tables show the
// statistics' estimate unless Options.Exact.
const DefaultExactBytes = 32 << 20

// Options tune Collect.
type Options struct {
	Runs int // last N runs, default 10
	// ExactBytes: tables whose data is at most this size are counted
	// exactly (default DefaultExactBytes).
	ExactBytes int64
	// Exact counts every table and view with count(*), each bounded by
	// CountTimeout (views can be expensive); default off: estimates for
	// large tables, views not counted.
	Exact bool
	// CountTimeout bounds each exact count of Exact; default 5s.
	CountTimeout time.Duration
	// Log receives what could not be counted and why (nil: discarded).
	Log *slog.Logger
}

// Collect reads the status from the database.
func Collect(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Status, error) {
	if opts.Runs <= 0 {
		opts.Runs = 10
	}
	if opts.CountTimeout <= 0 {
		opts.CountTimeout = 5 * time.Second
	}
	if opts.ExactBytes <= 0 {
		opts.ExactBytes = DefaultExactBytes
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	q := statusdb.New(pool)
	st := &Status{CheckedAt: time.Now().UTC(), Runs: []Run{}, Sources: []Source{}, Layers: []Layer{}}
	var err error
	if st.Database, err = q.DatabaseName(ctx); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if st.Runs, err = runs(ctx, q, opts.Runs); err != nil {
		return nil, err
	}
	if st.Sources, err = sources(ctx, q); err != nil {
		return nil, err
	}
	if st.Layers, err = layers(ctx, pool, q, opts); err != nil {
		return nil, err
	}
	if st.Export, err = lastExport(ctx, q); err != nil {
		return nil, err
	}
	return st, nil
}

func exists(ctx context.Context, q *statusdb.Queries, rel string) (bool, error) {
	ok, err := q.RelationExists(ctx, rel)
	if err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	return ok, nil
}

func runs(ctx context.Context, q *statusdb.Queries, n int) ([]Run, error) {
	out := []Run{}
	if ok, err := exists(ctx, q, "meta.runs"); err != nil || !ok {
		return out, err
	}
	rows, err := q.LastRuns(ctx, int32(n))
	if err != nil {
		return nil, fmt.Errorf("status: read meta.runs: %w", err)
	}
	for _, row := range rows {
		r := Run{RunID: row.RunID, Trigger: row.Trigger, Status: row.Status, FailedStep: row.FailedStep, Error: row.Error,
			StartedAt: row.StartedAt.Time, Steps: []RunStep{}}
		if row.ExitCode != nil {
			c := int(*row.ExitCode)
			r.ExitCode = &c
		}
		if row.FinishedAt.Valid {
			f := row.FinishedAt.Time
			d := f.Sub(r.StartedAt).Milliseconds()
			r.FinishedAt, r.DurationMS = &f, &d
		}
		if err := json.Unmarshal(row.Steps, &r.Steps); err != nil {
			return nil, fmt.Errorf("status: meta.runs run %d: steps: %w", r.RunID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func sources(ctx context.Context, q *statusdb.Queries) ([]Source, error) {
	rows, err := q.SourceFreshness(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: read meta.loads: %w", err)
	}
	out := []Source{}
	for _, row := range rows {
		s := Source{Source: row.Source, Loads: row.Loads, RowsLoaded: row.RowsLoaded, RowsRejected: row.RowsRejected,
			LastStatus: row.LastStatus, LastError: row.LastError,
			MaxBusinessDate: dateText(row.MaxDate), Watermark: dateText(row.Watermark)}
		if row.LastLoaded.Valid {
			t := row.LastLoaded.Time
			age := int64(row.CheckedAt.Time.Sub(t).Seconds())
			s.LastLoadedAt, s.AgeSeconds = &t, &age
		}
		out = append(out, s)
	}
	return out, nil
}

func dateText(d pgtype.Date) *string {
	if !d.Valid {
		return nil
	}
	s := d.Time.Format(time.DateOnly)
	return &s
}

func layers(ctx context.Context, pool *pgxpool.Pool, q *statusdb.Queries, opts Options) ([]Layer, error) {
	rels, err := q.Relations(ctx, opts.ExactBytes)
	if err != nil {
		return nil, fmt.Errorf("status: list tables: %w", err)
	}
	out := []Layer{}
	for _, rel := range rels {
		t := Table{Layer: rel.Layer, Name: rel.Name, Kind: rel.Kind}
		view := rel.Kind == "view"
		switch {
		case view && !opts.Exact:
			t.Note = "view: not counted (novawh status --exact counts views)"
		case !view && !rel.Estimated:
			n := rel.RowCount
			t.Rows = &n
		case opts.Exact:
			n, note, err := exactCount(ctx, pool, rel.Layer, rel.Name, opts)
			if err != nil {
				return nil, err
			}
			switch {
			case note == "":
				t.Rows = &n
			case !view:
				est := rel.RowCount
				t.Rows, t.Estimated, t.Note = &est, true, note+": estimate shown"
			default:
				t.Note = note
			}
		default:
			est := rel.RowCount
			t.Rows, t.Estimated = &est, true
		}
		if len(out) == 0 || out[len(out)-1].Layer != t.Layer {
			out = append(out, Layer{Layer: t.Layer})
		}
		l := &out[len(out)-1]
		l.Tables = append(l.Tables, t)
		if t.Rows != nil {
			l.Rows += *t.Rows
			l.Estimated = l.Estimated || t.Estimated
		}
	}
	return out, nil
}

// exactCount counts one relation with count(*) within opts.CountTimeout.
// What keeps it from counting is a note for the table, never the raw error
// (which goes to the log); only the caller's own cancellation is an error.
func exactCount(ctx context.Context, pool *pgxpool.Pool, schema, name string, opts Options) (int64, string, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", opts.CountTimeout.Milliseconds())); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, name}.Sanitize()).Scan(&n)
	})
	switch {
	case err == nil:
		return n, "", nil
	case ctx.Err() != nil:
		return 0, "", ctx.Err()
	case pgerr.Canceled(err):
		return 0, fmt.Sprintf("not counted within --count-timeout %s", opts.CountTimeout), nil
	case pgerr.InsufficientPrivilege(err):
		return 0, "not counted: this role may not read it", nil
	default:
		opts.Log.Warn("status: count failed", "relation", schema+"."+name, "err", logx.OneLine(err.Error()))
		return 0, "not counted (the reason is in the log)", nil
	}
}

func lastExport(ctx context.Context, q *statusdb.Queries) (*Export, error) {
	if ok, err := exists(ctx, q, "meta.export_runs"); err != nil || !ok {
		return nil, err
	}
	row, err := q.LastExport(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("status: read meta.export_runs: %w", err)
	}
	e := &Export{RunID: row.RunID, Target: row.Target, Status: row.Status, Full: row.FullExport, FilesWritten: row.FilesWritten,
		FilesRemoved: row.FilesRemoved, RowsWritten: row.RowsWritten, BytesWritten: row.BytesWritten, Error: row.Error,
		StartedAt: row.StartedAt.Time, FinishedAt: timePtr(row.FinishedAt), LastSucceededAt: timePtr(row.LastSucceededAt)}
	return e, nil
}

func timePtr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// WriteJSON writes st as indented JSON.
func WriteJSON(w io.Writer, st *Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// WriteText renders st for a terminal.
func WriteText(w io.Writer, st *Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("novawh status of database %s at %s\n", st.Database, st.CheckedAt.Local().Format("2006-01-02 15:04:05 MST"))

	p("\nLAST RUNS\n")
	if len(st.Runs) == 0 {
		p("  (no run yet: `novawh run`)\n")
	} else {
		p("  RUN\tSTARTED\tTRIGGER\tSTATUS\tEXIT\tDURATION\tSTEPS\tERROR\n")
		for _, r := range st.Runs {
			exit, dur := "-", "-"
			if r.ExitCode != nil {
				exit = fmt.Sprint(*r.ExitCode)
			}
			if r.DurationMS != nil {
				dur = alert.FormatDuration(time.Duration(*r.DurationMS) * time.Millisecond)
			}
			var steps []string
			for _, s := range r.Steps {
				steps = append(steps, s.Name+":"+s.Status)
			}
			errText := r.Error
			if r.FailedStep != "" {
				errText = r.FailedStep + ": " + errText
			}
			p("  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID, r.StartedAt.Local().Format("2006-01-02 15:04"), r.Trigger,
				r.Status, exit, dur, strings.Join(steps, " "), truncate(errText, 80))
		}
	}

	p("\nSOURCES\n")
	if len(st.Sources) == 0 {
		p("  (nothing loaded yet)\n")
	} else {
		p("  SOURCE\tLOADS\tROWS\tREJECTED\tLAST LOADED\tAGE\tDATA UP TO\tWATERMARK\tLAST STATUS\n")
		for _, s := range st.Sources {
			last, age := "-", "-"
			if s.LastLoadedAt != nil {
				last = s.LastLoadedAt.Local().Format("2006-01-02 15:04")
			}
			if s.AgeSeconds != nil {
				age = formatAge(*s.AgeSeconds)
			}
			status := s.LastStatus
			if s.LastError != "" && s.LastStatus == "failed" {
				status += ": " + truncate(s.LastError, 60)
			}
			p("  %s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Source, s.Loads, s.RowsLoaded, s.RowsRejected, last, age,
				deref(s.MaxBusinessDate), deref(s.Watermark), status)
		}
	}

	p("\nROWS PER LAYER (~ = estimate from the table statistics)\n")
	p("  LAYER\tTABLE\tKIND\tROWS\n")
	for _, l := range st.Layers {
		for _, t := range l.Tables {
			rows := "-"
			if t.Rows != nil {
				rows = countText(*t.Rows, t.Estimated)
			}
			if t.Note != "" {
				rows += " (" + t.Note + ")"
			}
			p("  %s\t%s\t%s\t%s\n", l.Layer, t.Name, t.Kind, rows)
		}
		p("  %s\t(total)\t\t%s\n", l.Layer, countText(l.Rows, l.Estimated))
	}

	p("\nLAST EXPORT\n")
	if st.Export == nil {
		p("  (no export yet: `novawh export` or `novawh run`)\n")
	} else {
		e := st.Export
		fin := "-"
		if e.FinishedAt != nil {
			fin = e.FinishedAt.Local().Format("2006-01-02 15:04:05")
		}
		p("  run %d to %s: %s (finished %s), %d files written, %d removed, %d rows, %d bytes\n",
			e.RunID, e.Target, e.Status, fin, e.FilesWritten, e.FilesRemoved, e.RowsWritten, e.BytesWritten)
		if e.Error != "" {
			p("  error: %s\n", truncate(e.Error, 120))
		}
		if e.Status != "succeeded" && e.LastSucceededAt != nil {
			p("  last complete export of that target: %s\n", e.LastSucceededAt.Local().Format("2006-01-02 15:04:05"))
		}
	}
	return tw.Flush()
}

// countText writes n, with ~ in front of an estimate.
func countText(n int64, estimated bool) string {
	if estimated {
		return "~" + fmt.Sprint(n)
	}
	return fmt.Sprint(n)
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func formatAge(sec int64) string {
	switch {
	case sec < 120:
		return fmt.Sprintf("%ds", sec)
	case sec < 7200:
		return fmt.Sprintf("%dm", sec/60)
	case sec < 172800:
		return fmt.Sprintf("%dh", sec/3600)
	default:
		return fmt.Sprintf("%dd", sec/86400)
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
