package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/logx"
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
	Rows  *int64 `json:"rows"` // nil when counting timed out
	Note  string `json:"note,omitempty"`
}

// Layer totals a layer.
type Layer struct {
	Layer  string  `json:"layer"`
	Rows   int64   `json:"rows"`
	Tables []Table `json:"tables"`
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

// Options tune Collect.
type Options struct {
	Runs int // last N runs, default 10
	// CountTimeout bounds each row count (views can be expensive); default 5s.
	CountTimeout time.Duration
}

// Collect reads the status from the database.
func Collect(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Status, error) {
	if opts.Runs <= 0 {
		opts.Runs = 10
	}
	if opts.CountTimeout <= 0 {
		opts.CountTimeout = 5 * time.Second
	}
	st := &Status{CheckedAt: time.Now().UTC(), Runs: []Run{}, Sources: []Source{}, Layers: []Layer{}}
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&st.Database); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	var err error
	if st.Runs, err = runs(ctx, pool, opts.Runs); err != nil {
		return nil, err
	}
	if st.Sources, err = sources(ctx, pool); err != nil {
		return nil, err
	}
	if st.Layers, err = layers(ctx, pool, opts.CountTimeout); err != nil {
		return nil, err
	}
	if st.Export, err = lastExport(ctx, pool); err != nil {
		return nil, err
	}
	return st, nil
}

func exists(ctx context.Context, pool *pgxpool.Pool, rel string) (bool, error) {
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", rel).Scan(&ok); err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	return ok, nil
}

func runs(ctx context.Context, pool *pgxpool.Pool, n int) ([]Run, error) {
	out := []Run{}
	if ok, err := exists(ctx, pool, "meta.runs"); err != nil || !ok {
		return out, err
	}
	rows, err := pool.Query(ctx, `SELECT run_id, trigger, status, exit_code, coalesce(failed_step, ''), coalesce(error, ''),
		started_at, finished_at, (extract(epoch FROM finished_at - started_at) * 1000)::bigint, steps
		FROM meta.runs ORDER BY run_id DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("status: read meta.runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Run
		var steps []byte
		if err := rows.Scan(&r.RunID, &r.Trigger, &r.Status, &r.ExitCode, &r.FailedStep, &r.Error,
			&r.StartedAt, &r.FinishedAt, &r.DurationMS, &steps); err != nil {
			return nil, fmt.Errorf("status: read meta.runs: %w", err)
		}
		r.Steps = []RunStep{}
		if err := json.Unmarshal(steps, &r.Steps); err != nil {
			return nil, fmt.Errorf("status: meta.runs run %d: steps: %w", r.RunID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func sources(ctx context.Context, pool *pgxpool.Pool) ([]Source, error) {
	out := []Source{}
	rows, err := pool.Query(ctx, `
		WITH l AS (
			SELECT source,
			       count(*) FILTER (WHERE status = 'loaded') AS loads,
			       coalesce(sum(rows_loaded) FILTER (WHERE status = 'loaded'), 0)::bigint AS rows_loaded,
			       coalesce(sum(rows_rejected) FILTER (WHERE status = 'loaded'), 0)::bigint AS rows_rejected,
			       max(finished_at) FILTER (WHERE status = 'loaded') AS last_loaded,
			       max(max_date) FILTER (WHERE status = 'loaded') AS max_date,
			       (array_agg(status ORDER BY load_id DESC))[1] AS last_status,
			       (array_agg(coalesce(error, '') ORDER BY load_id DESC))[1] AS last_error
			FROM meta.loads GROUP BY source
		), w AS (
			SELECT source, max(watermark) AS watermark FROM meta.watermarks GROUP BY source
		)
		SELECT coalesce(l.source, w.source), coalesce(l.loads, 0), coalesce(l.rows_loaded, 0), coalesce(l.rows_rejected, 0),
		       l.last_loaded, (extract(epoch FROM now() - l.last_loaded))::bigint, l.max_date::text,
		       coalesce(l.last_status, ''), coalesce(l.last_error, ''), w.watermark::text
		FROM l FULL JOIN w ON w.source = l.source
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("status: read meta.loads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Source
		if err := rows.Scan(&s.Source, &s.Loads, &s.RowsLoaded, &s.RowsRejected, &s.LastLoadedAt, &s.AgeSeconds,
			&s.MaxBusinessDate, &s.LastStatus, &s.LastError, &s.Watermark); err != nil {
			return nil, fmt.Errorf("status: read meta.loads: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func layers(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) ([]Layer, error) {
	rows, err := pool.Query(ctx, `SELECT n.nspname, c.relname,
		CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('bronze', 'silver', 'gold', 'meta') AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
		ORDER BY array_position(ARRAY['bronze', 'silver', 'gold', 'meta']::name[], n.nspname), c.relname`)
	if err != nil {
		return nil, fmt.Errorf("status: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		err := r.Scan(&t.Layer, &t.Name, &t.Kind)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("status: list tables: %w", err)
	}
	out := []Layer{}
	for i := range tables {
		t := &tables[i]
		n, err := count(ctx, pool, t.Layer, t.Name, timeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			t.Note = "not counted: " + logx.OneLine(err.Error())
		} else {
			t.Rows = &n
		}
		if len(out) == 0 || out[len(out)-1].Layer != t.Layer {
			out = append(out, Layer{Layer: t.Layer})
		}
		l := &out[len(out)-1]
		l.Tables = append(l.Tables, *t)
		if t.Rows != nil {
			l.Rows += *t.Rows
		}
	}
	return out, nil
}

func count(ctx context.Context, pool *pgxpool.Pool, schema, name string, timeout time.Duration) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", timeout.Milliseconds())); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, name}.Sanitize()).Scan(&n)
	})
	return n, err
}

func lastExport(ctx context.Context, pool *pgxpool.Pool) (*Export, error) {
	if ok, err := exists(ctx, pool, "meta.export_runs"); err != nil || !ok {
		return nil, err
	}
	var e Export
	err := pool.QueryRow(ctx, `SELECT run_id, target, status, full_export, files_written, files_removed, rows_written,
		bytes_written, coalesce(error, ''), started_at, finished_at,
		(SELECT max(finished_at) FROM meta.export_runs s WHERE s.target = r.target AND s.status = 'succeeded')
		FROM meta.export_runs r ORDER BY run_id DESC LIMIT 1`).Scan(&e.RunID, &e.Target, &e.Status, &e.Full,
		&e.FilesWritten, &e.FilesRemoved, &e.RowsWritten, &e.BytesWritten, &e.Error, &e.StartedAt, &e.FinishedAt, &e.LastSucceededAt)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("status: read meta.export_runs: %w", err)
	}
	return &e, nil
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

	p("\nROWS PER LAYER\n")
	p("  LAYER\tTABLE\tKIND\tROWS\n")
	for _, l := range st.Layers {
		for _, t := range l.Tables {
			rows := "-"
			if t.Rows != nil {
				rows = fmt.Sprint(*t.Rows)
			}
			if t.Note != "" {
				rows += " (" + truncate(t.Note, 50) + ")"
			}
			p("  %s\t%s\t%s\t%s\n", l.Layer, t.Name, t.Kind, rows)
		}
		p("  %s\t(total)\t\t%d\n", l.Layer, l.Rows)
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
