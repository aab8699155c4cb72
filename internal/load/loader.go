package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/panics"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// DefaultMaxRejectRatio is the share of rejected rows above which a file
// fails whole.
const DefaultMaxRejectRatio = 0.10

// Loader loads files of the configured sources into bronze.
type Loader struct {
	pool  *pgxpool.Pool
	reg   *registry.Registry
	cfg   Config
	log   *slog.Logger
	hooks *testHooks // nil outside tests
}

// testHooks are fault-injection points that only tests set (there is no
// way to set them from outside the package).
type testHooks struct {
	record   func(file string, n int64) // on the producer, before record n is encoded
	copyRead func(file string)          // on pgconn's COPY goroutine, in each read of the data
	// csvReader replaces the CSV reader (the benchmark of encoding/csv on
	// the hot path).
	csvReader func(r io.Reader, d Dialect) recordReader
}

// New returns a loader. log may be nil (no logging).
func New(pool *pgxpool.Pool, reg *registry.Registry, cfg Config, log *slog.Logger) *Loader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loader{pool: pool, reg: reg, cfg: cfg, log: log}
}

// MLMeta are ML metadata values supplied at load time; they fill the
// columns a file lacks (and empty cells of those it has).
type MLMeta struct {
	ModelVersion string
	GeneratedAt  *time.Time
	Source       string
	DatasetID    string
}

// Options tune one call.
type Options struct {
	Force          bool
	MaxRejectRatio float64            // 0 means the default 0.10
	Meta           MLMeta             // from --model-version/--generated-at/--ml-source/--dataset-id
	Progress       *progress.Reporter // nil: no progress bar
	// AsOf fills date columns declared `fallback: as_of` (inventory
	// snapshots without a date column); nil: the sidecar's as_of, else the
	// UTC date of generated_at.
	AsOf *time.Time
	// Streams is the number of parallel COPY streams: 0 chooses (2 for CSV
	// files of 32 MiB and more, else 1). Several streams fill per-load
	// child tables that the input's transaction attaches (docs/load.md).
	Streams int
	// BeforeCommit, when set, runs inside the input's transaction after its
	// rows and ledger row are written and before the commit, with the load
	// id and the counts (business date range included). Callers use it to
	// store related rows atomically with the load (the HTTP puller keeps
	// the raw response and advances its watermark there). An error fails
	// the input and rolls everything back.
	BeforeCommit func(ctx context.Context, tx pgx.Tx, loadID int64, counts ledger.Counts) error
}

// Result is the outcome of one input. JSON keys are the CLI's contract.
type Result struct {
	File         string `json:"file"`
	Source       string `json:"source"`
	LoadID       int64  `json:"load_id"`
	Status       string `json:"status"` // loaded | skipped | failed
	RowsRead     int64  `json:"rows_read"`
	RowsLoaded   int64  `json:"rows_loaded"`
	RowsRejected int64  `json:"rows_rejected"`
	Error        string `json:"error,omitempty"`
}

// source resolves a source name to its config and registry table.
func (l *Loader) source(name string) (*Source, *registry.Table, bool, error) {
	src, ok := l.cfg.Sources[name]
	if !ok {
		return nil, nil, false, fmt.Errorf("unknown source %q (configured: %s)", name, strings.Join(l.cfg.Names(), ", "))
	}
	tbl, ml, err := l.checkSource(src)
	return src, tbl, ml, err
}

// checkSource validates a source against the schema registry (one
// validation path into bronze: file sources and API records alike) and
// says whether the ML metadata rule applies.
func (l *Loader) checkSource(src *Source) (*registry.Table, bool, error) {
	name := src.Name
	tbl, ok := l.reg.Lookup(src.Table)
	if !ok {
		return nil, false, fmt.Errorf("source %s: table %s is not in the schema registry", name, src.Table)
	}
	for col := range src.Columns {
		if _, ok := tbl.Column(col); !ok || col == "_load_id" || col == "_line" {
			return nil, false, fmt.Errorf("source %s: column %q is not a column of %s in the schema registry", name, col, src.Table)
		}
	}
	if src.BusinessDate != "" {
		if _, ok := tbl.Column(src.BusinessDate); !ok {
			return nil, false, fmt.Errorf("source %s: business_date %q is not a column of %s", name, src.BusinessDate, src.Table)
		}
	}
	ml := tbl.MLResult
	if src.MLMetadata != nil {
		ml = *src.MLMetadata
	}
	if ml {
		for _, m := range registry.MLMetadataColumns {
			if _, ok := tbl.Column(m); !ok {
				return nil, false, fmt.Errorf("source %s: ML metadata rule applies but %s has no column %s", name, src.Table, m)
			}
		}
	}
	return tbl, ml, nil
}

// LoadPaths loads every file named by args (files, directories, globs),
// one transaction and one meta.loads row per file. A failed file does not
// stop the others. The error is for problems that prevent any loading
// (unknown source, bad configuration, no database).
func (l *Loader) LoadPaths(ctx context.Context, source string, args []string, opts Options) ([]Result, error) {
	src, tbl, ml, err := l.source(source)
	if err != nil {
		return nil, err
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	files, bad := expand(args, src)
	var out []Result
	for _, b := range bad {
		r := Result{File: b.path, Source: source, Status: ledger.StatusFailed, Error: b.err.Error()}
		l.logResult(r, 0, nil)
		out = append(out, r)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, l.loadFile(ctx, src, tbl, ml, f, opts))
	}
	return out, nil
}

// LoadReader loads bytes that are not a local file (an HTTP download):
// name identifies the input in meta.loads; its sha256 is of the bytes. The
// error is non-nil when the input failed (the Result says why too).
func (l *Loader) LoadReader(ctx context.Context, source, name string, r io.Reader, opts Options) (Result, error) {
	failed := func(err error) (Result, error) {
		return Result{File: name, Source: source, Status: ledger.StatusFailed, Error: err.Error()}, err
	}
	src, tbl, ml, err := l.source(source)
	if err != nil {
		return failed(err)
	}
	if err := checkOptions(opts); err != nil {
		return failed(err)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	isParquet := src.Format == "parquet" || (src.Format == "auto" && (bytes.Equal(magic, []byte("PAR1")) || hasExt(name, ".parquet")))
	if isParquet {
		// Parquet needs random access: spool the bytes to a temporary file,
		// then load it like a local file (which hashes it from the start).
		tmp, err := os.CreateTemp("", "novawh-load-*.parquet")
		if err != nil {
			return failed(err)
		}
		defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
		if _, err := io.Copy(tmp, br); err != nil {
			return failed(fmt.Errorf("%s: spool: %w", name, err))
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return failed(fmt.Errorf("%s: spool: %w", name, err))
		}
		in, err := fileInput(tmp, name, src)
		if err != nil {
			return failed(err)
		}
		in.sidecar = ""
		res := l.runInput(ctx, src, tbl, ml, in, opts)
		return res, resultErr(res)
	}
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(br, h)}
	in := &input{name: name, base: baseOf(name), r: cr, size: -1, hasher: h, counter: cr, format: "csv"}
	res := l.runInput(ctx, src, tbl, ml, in, opts)
	return res, resultErr(res)
}

func resultErr(r Result) error {
	if r.Status == ledger.StatusFailed {
		return errors.New(r.Error)
	}
	return nil
}

func checkOptions(opts Options) error {
	if opts.MaxRejectRatio < 0 || opts.MaxRejectRatio > 1 {
		return fmt.Errorf("max reject ratio %v must be between 0 and 1", opts.MaxRejectRatio)
	}
	if opts.Streams < 0 || opts.Streams > 8 {
		return errStreams
	}
	return nil
}

func (l *Loader) loadFile(ctx context.Context, src *Source, tbl *registry.Table, ml bool, path string, opts Options) Result {
	f, err := os.Open(path)
	if err != nil {
		r := Result{File: path, Source: src.Name, Status: ledger.StatusFailed, Error: err.Error()}
		l.logResult(r, 0, nil)
		return r
	}
	in, err := fileInput(f, path, src)
	defer func() {
		if in != nil {
			_ = in.waitSHA()
		}
		_ = f.Close()
	}()
	if err != nil {
		if in == nil {
			r := Result{File: path, Source: src.Name, Status: ledger.StatusFailed, Error: err.Error()}
			l.logResult(r, 0, nil)
			return r
		}
		return l.fail(ctx, src, in, ledger.Load{Source: src.Name, FileName: path, SHA256: in.sha, Bytes: in.size, TargetTable: src.Table}, ledger.Counts{}, err, time.Now())
	}
	return l.runInput(ctx, src, tbl, ml, in, opts)
}

// runInput is run with a panic on its goroutine turned into the input's
// failure (the deferred rollbacks have run by then), so that the other
// inputs still load.
func (l *Loader) runInput(ctx context.Context, src *Source, tbl *registry.Table, ml bool, in *input, opts Options) (res Result) {
	started := time.Now()
	var perr error
	func() {
		defer panics.Recover(&perr, "the loader")
		res = l.run(ctx, src, tbl, ml, in, opts)
	}()
	if perr != nil {
		l.logPanic(in.name, perr)
		ld := ledger.Load{Source: src.Name, FileName: in.name, Bytes: max(in.size, 0), TargetTable: src.Table}
		if in.shaDone == nil {
			ld.SHA256 = in.sha
		}
		res = l.fail(ctx, src, in, ld, ledger.Counts{}, perr, started)
	}
	return res
}

// logPanic logs a recovered panic with its stack.
func (l *Loader) logPanic(file string, err error) {
	var pe *panics.Error
	if errors.As(err, &pe) {
		l.log.Error("panic recovered: the input fails, the others go on", "file", file, "err", err, "stack", string(pe.Stack))
	}
}
