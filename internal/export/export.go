package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/registry"
)

// Defaults of Options.
const (
	DefaultTo             = "exports"
	DefaultPartitionBy    = "day"
	DefaultCompression    = "snappy"
	DefaultRowGroupRows   = 128 * 1024
	DefaultMaxRowsPerFile = 5_000_000
	DefaultWorkers        = 2
)

// Layer is the warehouse layer the exporter writes.
const Layer = "gold"

// ErrBusy is returned when another export to the same target is running.
var ErrBusy = errors.New("another export to this target is running")

// Options of one export run. Zero values take the defaults.
type Options struct {
	// To is a folder or s3://bucket/prefix (s3:// alone: bucket nova-gold).
	To string
	// Tables are gold table names ("fact_forecast" or "gold.fact_forecast");
	// empty means every gold table and materialized view of the registry
	// (views only when named).
	Tables []string
	// Full rewrites every partition instead of the changed ones.
	Full bool
	// PartitionBy is day (date=YYYY-MM-DD folders) or month (month=YYYY-MM).
	PartitionBy string
	// Compression is snappy or zstd.
	Compression string
	// RowGroupRows is the number of rows per Parquet row group.
	RowGroupRows int
	// MaxRowsPerFile starts a new part file within a partition beyond it.
	MaxRowsPerFile int64
	// Workers is how many partitions are read and written at once, each on
	// its own connection sharing the run's snapshot (default 2).
	Workers int
	// S3 overrides the AWS_* environment for s3:// targets.
	S3 *S3Config

	// readMode forces how full exports of partitioned tables read (tests):
	// "range" or "spill"; "" decides from the table's statistics.
	readMode string
}

func (o *Options) normalize(reg *registry.Registry) ([]*registry.Table, error) {
	if o.To == "" {
		o.To = DefaultTo
	}
	if o.PartitionBy == "" {
		o.PartitionBy = DefaultPartitionBy
	}
	if o.Compression == "" {
		o.Compression = DefaultCompression
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.MaxRowsPerFile == 0 {
		o.MaxRowsPerFile = DefaultMaxRowsPerFile
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	switch o.PartitionBy {
	case "day", "month":
	default:
		return nil, fmt.Errorf("partition-by must be day or month, not %q", o.PartitionBy)
	}
	switch o.Compression {
	case "snappy", "zstd":
	default:
		return nil, fmt.Errorf("compression must be snappy or zstd, not %q", o.Compression)
	}
	if o.RowGroupRows < 1 || o.MaxRowsPerFile < 1 || o.Workers < 1 {
		return nil, errors.New("row group rows, max rows per file and workers must be positive")
	}
	var known []string
	var defaults []string
	for _, t := range reg.Tables() {
		if t.Layer == Layer {
			known = append(known, t.Name)
			if t.Kind != "view" {
				defaults = append(defaults, t.Name)
			}
		}
	}
	if len(o.Tables) == 0 {
		o.Tables = defaults
	}
	var out []*registry.Table
	seen := map[string]bool{}
	for _, name := range o.Tables {
		n := strings.TrimSpace(name)
		if layer, rest, ok := strings.Cut(n, "."); ok {
			if layer != Layer {
				return nil, fmt.Errorf("table %q: only %s tables are exported", name, Layer)
			}
			n = rest
		}
		t, ok := reg.Table(Layer, n)
		if !ok {
			return nil, fmt.Errorf("table %q is not a %s table of the schema registry (known: %s)", name, Layer, strings.Join(known, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// Validate checks opts against reg without connecting anywhere: the
// errors are usage errors.
func Validate(reg *registry.Registry, opts Options) error {
	o := opts
	o.Tables = append([]string(nil), opts.Tables...)
	tables, err := o.normalize(reg)
	if err != nil {
		return err
	}
	if err := checkTarget(o.To); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := buildSchema(t); err != nil {
			return err
		}
	}
	return nil
}

// Result summarises an export run.
type Result struct {
	RunID        int64         `json:"run_id"`
	Target       string        `json:"target"`
	Full         bool          `json:"full"`
	PartitionBy  string        `json:"partition_by"`
	Compression  string        `json:"compression"`
	Tables       []TableResult `json:"tables"`
	FilesWritten int           `json:"files_written"`
	FilesKept    int           `json:"files_kept"`
	FilesRemoved int           `json:"files_removed"`
	RowsWritten  int64         `json:"rows_written"`
	BytesWritten int64         `json:"bytes_written"`
	Duration     time.Duration `json:"-"`
	DurationMS   int64         `json:"duration_ms"`
}

// TableResult is what an export did to one table.
type TableResult struct {
	Table string `json:"table"`
	// Mode is full (every partition rewritten), incremental (changed
	// partitions only) or unchanged (nothing changed since the last export).
	Mode              string   `json:"mode"`
	Reason            string   `json:"reason,omitempty"`
	PartitionsWritten []string `json:"partitions_written"`
	PartitionsRemoved []string `json:"partitions_removed"`
	FilesWritten      int      `json:"files_written"`
	FilesKept         int      `json:"files_kept"`
	FilesRemoved      int      `json:"files_removed"`
	RowsWritten       int64    `json:"rows_written"`
	BytesWritten      int64    `json:"bytes_written"`
	Rows              int64    `json:"rows"`
	Files             int      `json:"files"`
	LastChangeID      int64    `json:"last_change_id"`
	Manifest          string   `json:"manifest"`
	DurationMS        int64    `json:"duration_ms"`
}

// Exporter exports gold tables to Parquet.
type Exporter struct {
	pool *pgxpool.Pool
	reg  *registry.Registry
	log  *slog.Logger
}

// New returns an exporter reading through pool; reg gives table layouts.
func New(pool *pgxpool.Pool, reg *registry.Registry, log *slog.Logger) *Exporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Exporter{pool: pool, reg: reg, log: log}
}

// Run exports the tables of opts. Every table is published atomically; a
// failed or interrupted run leaves each table's previous export intact.
func (e *Exporter) Run(ctx context.Context, opts Options) (res Result, err error) {
	start := time.Now()
	tables, err := opts.normalize(e.reg)
	if err != nil {
		return res, err
	}
	schemas := make([]*tableSchema, len(tables))
	for i, t := range tables {
		if schemas[i], err = buildSchema(t); err != nil {
			return res, err
		}
	}
	tgt, err := openTarget(ctx, opts.To, s3Options{cfg: opts.S3})
	if err != nil {
		return res, err
	}
	defer tgt.Close()
	res = Result{Target: tgt.String(), Full: opts.Full, PartitionBy: opts.PartitionBy, Compression: opts.Compression}

	// The control connection holds the target's lock for the whole run and
	// records the run in meta.
	held, err := pglock.Acquire(ctx, e.pool, pglock.Export(tgt.String()), pglock.Wait{})
	if errors.Is(err, pglock.ErrBusy) {
		return res, fmt.Errorf("export to %s: %w", tgt, ErrBusy)
	}
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	defer held.Release(ctx)
	ctl := held.Conn()

	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Qualified()
	}
	// Runs of this target still marked running died without finishing: we
	// hold the lock they held.
	if _, err := ctl.Exec(ctx, `UPDATE meta.export_runs SET status = 'failed', finished_at = now(),
		error = 'interrupted: the process ended before the run finished' WHERE target = $1 AND status = 'running'`, tgt.String()); err != nil {
		return res, fmt.Errorf("export: meta.export_runs: %w", err)
	}
	if err := ctl.QueryRow(ctx, `INSERT INTO meta.export_runs (target, full_export, partition_by, compression, tables)
		VALUES ($1, $2, $3, $4, $5) RETURNING run_id`, tgt.String(), opts.Full, opts.PartitionBy, opts.Compression, names).Scan(&res.RunID); err != nil {
		return res, fmt.Errorf("export: meta.export_runs: %w", err)
	}
	e.log.Info("export started", "export_run_id", res.RunID, "target", tgt.String(), "tables", names,
		"full", opts.Full, "partition_by", opts.PartitionBy, "compression", opts.Compression)
	defer func() {
		res.Duration = time.Since(start)
		res.DurationMS = res.Duration.Milliseconds()
		status, msg := "succeeded", ""
		if err != nil {
			status, msg = "failed", err.Error()
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, uerr := ctl.Exec(uctx, `UPDATE meta.export_runs SET status = $2, error = NULLIF($3, ''), finished_at = now(),
			files_written = $4, files_removed = $5, rows_written = $6, bytes_written = $7 WHERE run_id = $1`,
			res.RunID, status, msg, res.FilesWritten, res.FilesRemoved, res.RowsWritten, res.BytesWritten)
		if uerr != nil && err == nil {
			err = fmt.Errorf("export: record the run in meta.export_runs: %w", uerr)
		}
		if err != nil {
			e.log.Error("export failed", "export_run_id", res.RunID, "target", tgt.String(), "err", err)
			return
		}
		e.log.Info("export finished", "export_run_id", res.RunID, "target", tgt.String(), "files_written", res.FilesWritten,
			"files_kept", res.FilesKept, "files_removed", res.FilesRemoved, "rows_written", res.RowsWritten,
			"bytes_written", res.BytesWritten, "duration_ms", res.Duration.Milliseconds())
	}()

	if err := tgt.Prepare(ctx); err != nil {
		return res, err
	}
	snap, err := e.openSnapshot(ctx, ctl, opts.Workers)
	if err != nil {
		return res, err
	}
	defer snap.close()

	for _, ts := range schemas {
		tr, err := e.exportTable(ctx, ctl, snap, tgt, ts, opts, res.RunID)
		if err != nil {
			return res, err
		}
		res.Tables = append(res.Tables, tr)
		res.FilesWritten += tr.FilesWritten
		res.FilesKept += tr.FilesKept
		res.FilesRemoved += tr.FilesRemoved
		res.RowsWritten += tr.RowsWritten
		res.BytesWritten += tr.BytesWritten
	}
	return res, nil
}

// exportState is a row of meta.export_tables.
type exportState struct {
	lastChangeID   int64
	manifestSHA256 string
}

// exportTable publishes one table: decides what to rewrite, writes it,
// commits it at the target and records the new state.
func (e *Exporter) exportTable(ctx context.Context, ctl *pgxpool.Conn, snap *snapshot, tgt target, ts *tableSchema, opts Options, runID int64) (TableResult, error) {
	start := time.Now()
	q := ts.table.Qualified()
	tr := TableResult{Table: q, Manifest: tgt.Location(ts.table.Layer, ts.table.Name),
		PartitionsWritten: []string{}, PartitionsRemoved: []string{}}
	partBy := opts.PartitionBy
	if !ts.partitioned {
		partBy = "none"
	}

	base, raw, err := tgt.ReadManifest(ctx, ts.table.Layer, ts.table.Name)
	switch {
	case errors.Is(err, errUnreadableManifest):
		// Replaced by a full export.
		e.log.Warn("unreadable manifest: exporting the whole table", "table", q, "err", err)
		base, raw = nil, nil
	case err != nil:
		return tr, fmt.Errorf("export %s: %w", q, err)
	}
	var state *exportState
	var st exportState
	err = ctl.QueryRow(ctx, `SELECT last_change_id, manifest_sha256 FROM meta.export_tables WHERE target = $1 AND table_name = $2`,
		tgt.String(), q).Scan(&st.lastChangeID, &st.manifestSHA256)
	switch {
	case err == nil:
		state = &st
	case errors.Is(err, pgx.ErrNoRows):
	default:
		return tr, fmt.Errorf("export %s: meta.export_tables: %w", q, err)
	}
	if err := snap.tx.QueryRow(ctx, `SELECT coalesce(max(change_id), 0) FROM meta.gold_changes WHERE table_name = $1`, q).Scan(&tr.LastChangeID); err != nil {
		return tr, fmt.Errorf("export %s: meta.gold_changes: %w", q, err)
	}

	// Decide between a full and an incremental export.
	reason := ""
	switch {
	case opts.Full:
		reason = "--full"
	case ts.table.Kind == "view":
		reason = "views are not in meta.gold_changes: always exported in full"
	case state == nil:
		reason = "first export of the table to this target"
	case base == nil:
		reason = "the target has no manifest for the table"
	case sha256Hex(raw) != state.manifestSHA256:
		reason = "the manifest at the target is not the one meta.export_tables recorded"
	case base.PartitionBy != partBy:
		reason = fmt.Sprintf("partitioning changed from %s to %s", base.PartitionBy, partBy)
	case base.Compression != opts.Compression:
		reason = fmt.Sprintf("compression changed from %s to %s", base.Compression, opts.Compression)
	case base.SchemaSHA256 != ts.sha256:
		reason = "the table's columns changed in the schema registry"
	case tr.LastChangeID < state.lastChangeID:
		reason = "meta.gold_changes is behind the last export (restored database?)"
	}
	var changed map[string]bool // partition keys to rewrite; nil: all
	if reason == "" {
		windows, whole, err := changeWindows(ctx, snap.tx, q, state.lastChangeID, tr.LastChangeID)
		if err != nil {
			return tr, fmt.Errorf("export %s: %w", q, err)
		}
		switch {
		case len(windows) == 0 && !whole:
			tr.Mode = "unchanged"
			tr.FilesKept, tr.Files, tr.Rows = len(base.Files), len(base.Files), base.Rows
			tr.LastChangeID = state.lastChangeID
			tr.DurationMS = time.Since(start).Milliseconds()
			e.log.Info("table unchanged since the last export", "table", q, "last_change_id", state.lastChangeID)
			return tr, nil
		case whole:
			reason = "a refresh rewrote the whole table"
		case !ts.partitioned:
			reason = "unpartitioned table changed"
		default:
			changed = partitionKeys(windows, partBy)
		}
	}
	if changed == nil {
		tr.Mode = "full"
		tr.Reason = reason
	} else {
		tr.Mode = "incremental"
	}

	tx, err := tgt.Begin(ctx, ts.table.Layer, ts.table.Name, base)
	if err != nil {
		return tr, fmt.Errorf("export %s: %w", q, err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Abort()
		}
	}()

	var files []ManifestFile
	basePartitions := base.byPartition()
	if changed != nil {
		for _, f := range base.Files {
			if changed[f.Partition] {
				continue
			}
			if err := tx.Keep(ctx, f); err != nil {
				return tr, fmt.Errorf("export %s: keep %s: %w", q, f.Path, err)
			}
			files = append(files, f)
			tr.FilesKept++
		}
	}
	keys := []string{}
	switch {
	case !ts.partitioned:
		keys = []string{""}
	case changed != nil:
		for k := range changed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	fullPartitioned := ts.partitioned && changed == nil
	w := &partitionWriter{ts: ts, opts: opts, partBy: partBy, log: e.log}
	write := func(ctx context.Context, q pgx.Tx, key string) ([]ManifestFile, error) {
		return w.write(ctx, q, tx, key)
	}
	if fullPartitioned {
		// Full export of a partitioned table: range queries when its rows are
		// stored in date order, else one sequential read into spill files.
		clustered, err := dateClustered(ctx, snap.tx, ts)
		if err != nil {
			return tr, fmt.Errorf("export %s: %w", q, err)
		}
		if opts.readMode != "" {
			clustered = opts.readMode == "range"
		}
		e.log.Debug("full export read plan", "table", q, "range_queries", clustered)
		if clustered {
			if keys, err = listPartitions(ctx, snap.tx, ts, partBy); err != nil {
				return tr, fmt.Errorf("export %s: %w", q, err)
			}
		} else {
			sp, spKeys, err := w.spillTable(ctx, snap.tx, tgt.TempDir())
			if err != nil {
				return tr, fmt.Errorf("export %s: %w", q, err)
			}
			defer sp.remove()
			keys = spKeys
			write = func(ctx context.Context, _ pgx.Tx, key string) ([]ManifestFile, error) {
				r, err := sp.open(key, len(ts.cols))
				if err != nil {
					return nil, err
				}
				defer r.Close()
				return w.writeRows(ctx, tx, key, r)
			}
		}
	}
	parts, err := snap.each(ctx, keys, write)
	if err != nil {
		return tr, fmt.Errorf("export %s: %w", q, err)
	}
	written := map[string]bool{}
	for i, k := range keys {
		pf := parts[i]
		if len(pf) == 0 {
			continue
		}
		written[k] = true
		if k != "" {
			tr.PartitionsWritten = append(tr.PartitionsWritten, k)
		}
		for _, f := range pf {
			tr.FilesWritten++
			tr.RowsWritten += f.Rows
			tr.BytesWritten += f.Bytes
		}
		files = append(files, pf...)
	}
	for k, fs := range basePartitions {
		if changed != nil && !changed[k] {
			continue
		}
		tr.FilesRemoved += len(fs)
		if k != "" && !written[k] {
			tr.PartitionsRemoved = append(tr.PartitionsRemoved, k)
		}
	}
	sort.Strings(tr.PartitionsRemoved)

	m := &Manifest{
		FormatVersion: ManifestVersion,
		Table:         q,
		ExportedAt:    time.Now().UTC().Truncate(time.Millisecond),
		PartitionBy:   partBy,
		Compression:   opts.Compression,
		LastChangeID:  tr.LastChangeID,
		LastLoadID:    snap.lastLoadID,
		SchemaSHA256:  ts.sha256,
		Schema:        ts.manifestCol,
		Files:         files,
	}
	if files == nil {
		m.Files = []ManifestFile{}
	}
	if ts.partitioned {
		m.PartitionColumn = PartitionColumn
	}
	mb, err := m.Encode()
	if err != nil {
		return tr, fmt.Errorf("export %s: manifest: %w", q, err)
	}
	if err := tx.Commit(ctx, mb); err != nil {
		return tr, fmt.Errorf("export %s: %w", q, err)
	}
	committed = true
	tr.Rows, tr.Files = m.Rows, len(m.Files)
	_, err = ctl.Exec(ctx, `INSERT INTO meta.export_tables AS t (target, table_name, last_change_id, last_load_id, partition_by,
		compression, schema_sha256, manifest_sha256, files, rows, bytes, run_id, exported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (target, table_name) DO UPDATE SET last_change_id = EXCLUDED.last_change_id,
			last_load_id = EXCLUDED.last_load_id, partition_by = EXCLUDED.partition_by, compression = EXCLUDED.compression,
			schema_sha256 = EXCLUDED.schema_sha256, manifest_sha256 = EXCLUDED.manifest_sha256, files = EXCLUDED.files,
			rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, run_id = EXCLUDED.run_id, exported_at = EXCLUDED.exported_at`,
		tgt.String(), q, m.LastChangeID, m.LastLoadID, partBy, opts.Compression, ts.sha256, sha256Hex(mb),
		len(m.Files), m.Rows, m.Bytes, runID, m.ExportedAt)
	if err != nil {
		// The export is published; the next run sees a manifest meta does not
		// know and rewrites the table in full.
		return tr, fmt.Errorf("export %s: published, but recording it in meta.export_tables failed: %w", q, err)
	}
	tr.DurationMS = time.Since(start).Milliseconds()
	e.log.Info("table exported", "table", q, "mode", tr.Mode, "reason", tr.Reason,
		"partitions_written", len(tr.PartitionsWritten), "partitions_removed", len(tr.PartitionsRemoved),
		"files_written", tr.FilesWritten, "files_kept", tr.FilesKept, "files_removed", tr.FilesRemoved,
		"rows_written", tr.RowsWritten, "bytes_written", tr.BytesWritten, "last_change_id", tr.LastChangeID,
		"duration_ms", time.Since(start).Milliseconds())
	return tr, nil
}

// dateClustered reports whether the table's rows are stored in date order
// (PostgreSQL's statistics: correlation of the date column close to 1), so
// that reading one partition touches only its own pages.
func dateClustered(ctx context.Context, q pgx.Tx, ts *tableSchema) (bool, error) {
	var corr *float64
	err := q.QueryRow(ctx, `SELECT correlation FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname = $3`,
		ts.table.Layer, ts.table.Name, PartitionColumn).Scan(&corr)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pg_stats: %w", err)
	}
	return corr != nil && *corr > 0.9, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
