package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// Defaults of Options.
const (
	DefaultTo             = "exports"
	DefaultPartitionBy    = grainAuto
	DefaultCompression    = "snappy"
	DefaultRowGroupRows   = 128 * 1024
	DefaultMaxRowsPerFile = 5_000_000
	DefaultWorkers        = 2
	// DefaultBronzeRetentionDays is how long bronze stays in the lake, and
	// raw API bodies and rejected-row texts in PostgreSQL (the plan's 90
	// days).
	DefaultBronzeRetentionDays = 90
)

// Layers are the lake's layers in data-flow order.
var Layers = []string{"bronze", "silver", "gold"}

// DefaultLayers is what an export writes unless told otherwise.
var DefaultLayers = []string{"gold"}

// bronzeMeta are the meta tables published with bronze, so that every
// bronze row traces back to its load and the rejected rows are kept too.
var bronzeMeta = []string{"loads", "rejected_rows"}

// ErrBusy is returned when another export to the same target is running.
var ErrBusy = errors.New("another export to this target is running")

// Options of one export run. Zero values take the defaults.
type Options struct {
	// To is a folder or s3://bucket/prefix; s3:// alone means one bucket per
	// layer (Buckets, default nova-bronze, nova-silver, nova-gold).
	To string
	// Layers to export: bronze, silver, gold (default gold). With Tables,
	// they are where unqualified names are looked up; a qualified name
	// ("bronze.ml_forecasts") selects its own layer.
	Layers []string
	// Tables restricts the export to some tables ("fact_forecast",
	// "gold.fact_forecast", "bronze.ml_forecasts", "meta.loads"); empty
	// means every table of each layer: bronze tables with meta.loads and
	// meta.rejected_rows, every silver table and view, gold tables (gold
	// views only when named).
	Tables []string
	// Full rewrites every partition instead of the changed ones.
	Full bool
	// PartitionBy is auto (the file-size rule), day, month or none.
	PartitionBy string
	// MinRowsPerFile is the file-size rule's target (auto): the finest grain
	// whose partitions average at least this many rows.
	MinRowsPerFile int64
	// Compression is snappy or zstd.
	Compression string
	// RowGroupRows is the number of rows per Parquet row group.
	RowGroupRows int
	// MaxRowsPerFile starts a new part file within a partition beyond it.
	MaxRowsPerFile int64
	// Workers is how many partitions are read and written at once, each on
	// its own connection sharing the run's snapshot (default 2).
	Workers int
	// Buckets names the bucket of each layer for s3:// alone.
	Buckets map[string]string
	// BronzeRetentionDays: bronze loads older than this many days leave the
	// lake, and their raw API bodies and rejected-row texts are pruned from
	// PostgreSQL once a verified export holds them (0: the default, 90;
	// negative: keep everything).
	BronzeRetentionDays int
	// RetentionLockWait is how long the prune waits for another one holding
	// the retention lock (default one minute); the next run prunes what
	// this one could not.
	RetentionLockWait time.Duration
	// S3 overrides the AWS_* environment for s3:// targets.
	S3 *S3Config
	// Progress draws each table's partitions on a terminal (nil: none).
	Progress *progress.Reporter

	// now is the clock of the retention (tests); nil means time.Now.
	now func() time.Time
	// readMode forces how full exports of partitioned tables read (tests):
	// "range", "direct" or "spill"; "" decides from the table's statistics.
	readMode string
	// chunkBlocks overrides spillChunkBlocks (tests).
	chunkBlocks int64
}

// selection is what a run exports: tables by layer, in Layers order.
type selection struct {
	layers []string
	tables map[string][]*tableSchema
}

func (o *Options) normalize(reg *registry.Registry) (*selection, error) {
	if o.To == "" {
		o.To = DefaultTo
	}
	if o.PartitionBy == "" {
		o.PartitionBy = DefaultPartitionBy
	}
	if o.MinRowsPerFile == 0 {
		o.MinRowsPerFile = DefaultMinRowsPerFile
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
	if o.BronzeRetentionDays == 0 {
		o.BronzeRetentionDays = DefaultBronzeRetentionDays
	}
	if o.RetentionLockWait == 0 {
		o.RetentionLockWait = time.Minute
	}
	switch o.PartitionBy {
	case grainAuto, grainDay, grainMonth, grainNone:
	default:
		return nil, fmt.Errorf("partition-by must be auto, day, month or none, not %q", o.PartitionBy)
	}
	switch o.Compression {
	case "snappy", "zstd":
	default:
		return nil, fmt.Errorf("compression must be snappy or zstd, not %q", o.Compression)
	}
	if o.RowGroupRows < 1 || o.MaxRowsPerFile < 1 || o.Workers < 1 || o.MinRowsPerFile < 1 {
		return nil, errors.New("row group rows, min and max rows per file and workers must be positive")
	}
	for l, b := range o.Buckets {
		if !slices.Contains(Layers, l) {
			return nil, fmt.Errorf("bucket for %q: not a layer (want %s)", l, strings.Join(Layers, ", "))
		}
		if b == "" {
			return nil, fmt.Errorf("bucket for %s: empty name", l)
		}
	}
	given := map[string]bool{}
	for _, l := range o.Layers {
		l = strings.TrimSpace(l)
		if !slices.Contains(Layers, l) {
			return nil, fmt.Errorf("layer %q: want %s", l, strings.Join(Layers, ", "))
		}
		given[l] = true
	}

	// Every exportable table, by layer.
	all := map[string][]*registry.Table{}
	defaults := map[string][]*registry.Table{}
	for _, t := range reg.Tables() {
		switch t.Layer {
		case "bronze", "silver", "gold":
			all[t.Layer] = append(all[t.Layer], t)
			if t.Layer != "gold" || t.Kind == "" || t.Kind == "table" || t.Export {
				defaults[t.Layer] = append(defaults[t.Layer], t)
			}
		}
	}
	for _, n := range bronzeMeta {
		if t, ok := reg.Table("meta", n); ok {
			all["bronze"] = append(all["bronze"], t)
			defaults["bronze"] = append(defaults["bronze"], t)
		}
	}
	lookup := func(layer, name string) *registry.Table {
		for _, t := range all[layer] {
			if t.Name == name {
				return t
			}
		}
		return nil
	}
	picked := map[string][]*registry.Table{}
	seen := map[string]bool{}
	for _, raw := range o.Tables {
		n := strings.TrimSpace(raw)
		if n == "" {
			continue
		}
		var layer string
		var t *registry.Table
		if l, rest, ok := strings.Cut(n, "."); ok {
			if l == "meta" {
				l = "bronze"
			}
			if !slices.Contains(Layers, l) {
				return nil, fmt.Errorf("table %q: layer %q is not exported (want %s)", raw, l, strings.Join(Layers, ", "))
			}
			layer, t = l, lookup(l, rest)
		} else {
			// Unqualified: in the given layers, else gold.
			search := o.Layers
			if len(search) == 0 {
				search = DefaultLayers
			}
			for _, l := range Layers {
				if slices.Contains(search, l) {
					if t = lookup(l, n); t != nil {
						layer = l
						break
					}
				}
			}
		}
		if t == nil {
			var known []string
			for _, l := range Layers {
				for _, kt := range all[l] {
					known = append(known, kt.Qualified())
				}
			}
			return nil, fmt.Errorf("table %q is not an exported table of the schema registry (known: %s)", raw, strings.Join(known, ", "))
		}
		if !seen[layer+"."+t.Name] {
			seen[layer+"."+t.Name] = true
			picked[layer] = append(picked[layer], t)
		}
	}
	sel := &selection{tables: map[string][]*tableSchema{}}
	for _, l := range Layers {
		var tables []*registry.Table
		switch {
		case len(o.Tables) > 0:
			tables = picked[l]
		case given[l] || (len(given) == 0 && slices.Contains(DefaultLayers, l)):
			tables = defaults[l]
		}
		if len(tables) == 0 && (len(o.Tables) > 0 || !given[l]) {
			continue
		}
		sel.layers = append(sel.layers, l)
		for _, t := range tables {
			ts, err := buildSchema(t, l)
			if err != nil {
				return nil, err
			}
			sel.tables[l] = append(sel.tables[l], ts)
		}
	}
	o.Layers = sel.layers
	return sel, nil
}

// Validate checks opts against reg without connecting anywhere: the
// errors are usage errors.
func Validate(reg *registry.Registry, opts Options) error {
	o := opts
	o.Tables = append([]string(nil), opts.Tables...)
	o.Layers = append([]string(nil), opts.Layers...)
	if _, err := o.normalize(reg); err != nil {
		return err
	}
	return checkTarget(o.To)
}

// Result summarises an export run.
type Result struct {
	RunID        int64          `json:"run_id"`
	Target       string         `json:"target"`
	Full         bool           `json:"full"`
	PartitionBy  string         `json:"partition_by"`
	Compression  string         `json:"compression"`
	Layers       []LayerResult  `json:"layers"`
	Tables       []TableResult  `json:"tables"`
	FilesWritten int            `json:"files_written"`
	FilesKept    int            `json:"files_kept"`
	FilesRemoved int            `json:"files_removed"`
	RowsWritten  int64          `json:"rows_written"`
	BytesWritten int64          `json:"bytes_written"`
	Retention    *RetentionInfo `json:"retention,omitempty"`
	Duration     time.Duration  `json:"-"`
	DurationMS   int64          `json:"duration_ms"`
}

// LayerResult is what an export did to one layer.
type LayerResult struct {
	Layer string `json:"layer"`
	// Manifest is the layer manifest readers must trust.
	Manifest string `json:"manifest"`
	// Published is false when nothing changed (the layer manifest was kept).
	Published bool `json:"published"`
}

// TableResult is what an export did to one table.
type TableResult struct {
	Table string `json:"table"`
	Layer string `json:"layer"`
	// Mode is full (every partition rewritten), incremental (changed
	// partitions only) or unchanged (nothing changed since the last export).
	Mode              string   `json:"mode"`
	Reason            string   `json:"reason,omitempty"`
	PartitionBy       string   `json:"partition_by"`
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
	Glob              string   `json:"glob"`
	DurationMS        int64    `json:"duration_ms"`
}

// Exporter exports the lake's layers to Parquet.
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

func (o *Options) clock() time.Time {
	if o.now != nil {
		return o.now().UTC()
	}
	return time.Now().UTC()
}

// cutoff is the first instant whose loads bronze keeps: midnight UTC of
// the oldest of the last BronzeRetentionDays days (nil: keep everything).
func (o *Options) cutoff(now time.Time) *time.Time {
	if o.BronzeRetentionDays < 0 {
		return nil
	}
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-o.BronzeRetentionDays)
	return &d
}

// Run exports the tables of opts. Each layer is published atomically: its
// readers see the previous export of every table or the new one, never a
// mix; a failed or interrupted run leaves the previous export intact.
func (e *Exporter) Run(ctx context.Context, opts Options) (res Result, err error) {
	start := time.Now()
	sel, err := opts.normalize(e.reg)
	if err != nil {
		return res, err
	}
	now := opts.clock()
	so := s3Options{cfg: opts.S3, buckets: opts.Buckets}
	if opts.BronzeRetentionDays > 0 {
		so.tags = map[string]map[string]string{"bronze": {retentionTagKey: retentionTagValue}}
	}
	tgt, err := openTarget(ctx, opts.To, so)
	if err != nil {
		return res, err
	}
	defer tgt.Close()
	res = Result{Target: tgt.String(), Full: opts.Full, PartitionBy: opts.PartitionBy, Compression: opts.Compression,
		Layers: []LayerResult{}, Tables: []TableResult{}}

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

	var names []string
	for _, l := range sel.layers {
		for _, ts := range sel.tables[l] {
			names = append(names, ts.table.Qualified())
		}
	}
	// Runs of this target still marked running died without finishing: we
	// hold the lock they held.
	if _, err := ctl.Exec(ctx, `UPDATE meta.export_runs SET status = 'failed', finished_at = now(),
		error = 'interrupted: the process ended before the run finished' WHERE target = $1 AND status = 'running'`, tgt.String()); err != nil {
		return res, fmt.Errorf("export: meta.export_runs: %w", err)
	}
	if err := ctl.QueryRow(ctx, `INSERT INTO meta.export_runs (target, full_export, partition_by, compression, tables, layers)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING run_id`, tgt.String(), opts.Full, opts.PartitionBy, opts.Compression, names, sel.layers).Scan(&res.RunID); err != nil {
		return res, fmt.Errorf("export: meta.export_runs: %w", err)
	}
	log := e.log.With("export_run_id", res.RunID)
	log.Info("export started", "target", tgt.String(), "layers", sel.layers, "tables", names,
		"full", opts.Full, "partition_by", opts.PartitionBy, "compression", opts.Compression)
	defer func() {
		res.Duration = time.Since(start)
		res.DurationMS = res.Duration.Milliseconds()
		status, msg := "succeeded", ""
		if err != nil {
			status, msg = "failed", err.Error()
		}
		var pruned, cleared int64
		if res.Retention != nil {
			pruned, cleared = res.Retention.RawResponsesDeleted, res.Retention.RejectedRowsCleared
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, uerr := ctl.Exec(uctx, `UPDATE meta.export_runs SET status = $2, error = NULLIF($3, ''), finished_at = now(),
			files_written = $4, files_removed = $5, rows_written = $6, bytes_written = $7,
			raw_responses_pruned = $8, rejected_rows_pruned = $9 WHERE run_id = $1`,
			res.RunID, status, msg, res.FilesWritten, res.FilesRemoved, res.RowsWritten, res.BytesWritten, pruned, cleared)
		if uerr != nil && err == nil {
			err = fmt.Errorf("export: record the run in meta.export_runs: %w", uerr)
		}
		if err != nil {
			log.Error("export failed", "target", tgt.String(), "err", err, "duration_ms", res.DurationMS)
			return
		}
		log.Info("export finished", "target", tgt.String(), "files_written", res.FilesWritten,
			"files_kept", res.FilesKept, "files_removed", res.FilesRemoved, "rows_written", res.RowsWritten,
			"bytes_written", res.BytesWritten, "duration_ms", res.DurationMS)
	}()

	if err := tgt.Prepare(ctx); err != nil {
		return res, err
	}
	defer func() {
		if ferr := tgt.Finish(); ferr != nil && err == nil {
			err = ferr
		}
	}()
	snap, err := e.openSnapshot(ctx, ctl, opts.Workers)
	if err != nil {
		return res, err
	}
	defer snap.close()

	run := &runState{e: e, log: log, ctl: ctl, snap: snap, tgt: tgt, opts: opts, runID: res.RunID, now: now,
		version: fmt.Sprintf("%s-r%d", now.Format("20060102T150405Z"), res.RunID)}
	roots := map[string]layerRoot{}
	for _, l := range sel.layers {
		lr, err := tgt.Layer(ctx, l)
		if err != nil {
			return res, err
		}
		roots[l] = lr
		lres, trs, err := run.exportLayer(ctx, lr, l, sel.tables[l])
		res.Tables = append(res.Tables, trs...)
		for _, tr := range trs {
			res.FilesWritten += tr.FilesWritten
			res.FilesKept += tr.FilesKept
			res.FilesRemoved += tr.FilesRemoved
			res.RowsWritten += tr.RowsWritten
			res.BytesWritten += tr.BytesWritten
		}
		if err != nil {
			return res, err
		}
		res.Layers = append(res.Layers, lres)
	}
	snap.close()
	if lr, ok := roots["bronze"]; ok && opts.BronzeRetentionDays > 0 {
		info, err := e.applyRetention(ctx, log, tgt, lr, opts, now)
		res.Retention = info
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// runState is what the steps of one run share.
type runState struct {
	e       *Exporter
	log     *slog.Logger
	ctl     *pgxpool.Conn
	snap    *snapshot
	tgt     target
	opts    Options
	runID   int64
	now     time.Time
	version string // names the table manifests this run writes on S3
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
