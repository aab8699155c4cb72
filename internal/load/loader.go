package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"golang.org/x/text/encoding/charmap"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// DefaultMaxRejectRatio is the share of rejected rows above which a file
// fails whole.
const DefaultMaxRejectRatio = 0.10

// Loader loads files of the configured sources into bronze.
type Loader struct {
	pool *pgxpool.Pool
	reg  *registry.Registry
	cfg  Config
	log  *slog.Logger
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

// Sidecar is the optional <file>.meta.json next to an input.
type Sidecar struct {
	ModelVersion string `json:"model_version"`
	GeneratedAt  string `json:"generated_at"`
	Source       string `json:"source"`
	DatasetID    string `json:"dataset_id"`
	AsOf         string `json:"as_of"`
}

// source resolves a source name to its config and registry table.
func (l *Loader) source(name string) (*Source, *registry.Table, bool, error) {
	src, ok := l.cfg.Sources[name]
	if !ok {
		return nil, nil, false, fmt.Errorf("unknown source %q (configured: %s)", name, strings.Join(l.cfg.Names(), ", "))
	}
	tbl, ok := l.reg.Lookup(src.Table)
	if !ok {
		return nil, nil, false, fmt.Errorf("source %s: table %s is not in the schema registry", name, src.Table)
	}
	for col := range src.Columns {
		if _, ok := tbl.Column(col); !ok || col == "_load_id" || col == "_line" {
			return nil, nil, false, fmt.Errorf("source %s: column %q is not a column of %s in the schema registry", name, col, src.Table)
		}
	}
	if src.BusinessDate != "" {
		if _, ok := tbl.Column(src.BusinessDate); !ok {
			return nil, nil, false, fmt.Errorf("source %s: business_date %q is not a column of %s", name, src.BusinessDate, src.Table)
		}
	}
	ml := tbl.MLResult
	if src.MLMetadata != nil {
		ml = *src.MLMetadata
	}
	if ml {
		for _, m := range registry.MLMetadataColumns {
			if _, ok := tbl.Column(m); !ok {
				return nil, nil, false, fmt.Errorf("source %s: ML metadata rule applies but %s has no column %s", name, src.Table, m)
			}
		}
	}
	return src, tbl, ml, nil
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
		res := l.run(ctx, src, tbl, ml, in, opts)
		return res, resultErr(res)
	}
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(br, h)}
	in := &input{name: name, base: baseOf(name), r: cr, size: -1, hasher: h, counter: cr, format: "csv"}
	res := l.run(ctx, src, tbl, ml, in, opts)
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

// input is one thing to load.
type input struct {
	name    string // meta.loads.file_name
	base    string // base name (file name pattern, messages)
	r       io.Reader
	ra      io.ReaderAt
	size    int64 // -1 unknown
	sha     string
	hasher  hash.Hash       // sha computed while reading (readers)
	counter *countingReader // bytes read (readers)
	sidecar string
	format  string // csv | parquet
	// Large files are hashed while they load: shaDone closes when sha (or
	// hashErr) is set; skipID is set when that content was loaded before.
	shaDone chan struct{}
	hashErr error
	skipID  atomic.Int64
}

// asyncHashMin is the file size from which the sha256 is computed while
// loading instead of before.
const asyncHashMin = 8 << 20

var errAlreadyLoaded = errors.New("content already loaded")

// waitSHA waits for an asynchronous hash.
func (in *input) waitSHA() error {
	if in.shaDone != nil {
		<-in.shaDone
		return in.hashErr
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func hasExt(name string, exts ...string) bool {
	e := strings.ToLower(filepath.Ext(name))
	for _, x := range exts {
		if e == x {
			return true
		}
	}
	return false
}

func baseOf(name string) string {
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	return name
}

type badArg struct {
	path string
	err  error
}

// expand turns FILE|DIR|GLOB arguments into a sorted list of files.
func expand(args []string, src *Source) ([]string, []badArg) {
	var files []string
	var bad []badArg
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	wanted := func(name string) bool {
		if strings.HasSuffix(name, ".meta.json") || strings.HasPrefix(filepath.Base(name), ".") {
			return false
		}
		switch src.Format {
		case "csv":
			return hasExt(name, ".csv", ".txt", ".tsv")
		case "parquet":
			return hasExt(name, ".parquet")
		}
		return hasExt(name, ".csv", ".txt", ".tsv", ".parquet")
	}
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			entries, err := os.ReadDir(a)
			if err != nil {
				bad = append(bad, badArg{a, err})
				continue
			}
			n := 0
			for _, e := range entries {
				if e.Type().IsRegular() && wanted(e.Name()) {
					add(filepath.Join(a, e.Name()))
					n++
				}
			}
			if n == 0 {
				bad = append(bad, badArg{a, fmt.Errorf("%s: directory has no %s file", a, src.Format)})
			}
		case err == nil:
			add(a)
		case strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				bad = append(bad, badArg{a, fmt.Errorf("%s: %w", a, gerr)})
				continue
			}
			n := 0
			for _, p := range m {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && !strings.HasSuffix(p, ".meta.json") {
					add(p)
					n++
				}
			}
			if n == 0 {
				bad = append(bad, badArg{a, fmt.Errorf("%s: no file matches", a)})
			}
		default:
			bad = append(bad, badArg{a, fmt.Errorf("%s: %w", a, errors.Unwrap(err))})
		}
	}
	sort.Strings(files)
	return files, bad
}

func fileInput(f *os.File, name string, src *Source) (*input, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in := &input{name: name, base: baseOf(name), r: f, ra: f, size: st.Size(), sidecar: name + ".meta.json"}
	if st.Size() >= asyncHashMin {
		in.shaDone = make(chan struct{})
		go func() {
			defer close(in.shaDone)
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
				in.hashErr = fmt.Errorf("%s: read: %w", name, err)
				return
			}
			in.sha = hex.EncodeToString(h.Sum(nil))
		}()
	} else {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, fmt.Errorf("%s: read: %w", name, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.sha = hex.EncodeToString(h.Sum(nil))
	}
	var magic [4]byte
	n, _ := f.ReadAt(magic[:], 0)
	isPar := n == 4 && string(magic[:]) == "PAR1"
	switch src.Format {
	case "csv":
		in.format = "csv"
	case "parquet":
		in.format = "parquet"
	default:
		switch {
		case hasExt(name, ".parquet"), isPar:
			in.format = "parquet"
		default:
			in.format = "csv"
		}
	}
	if in.format == "csv" && isPar {
		return in, &FileError{Msg: "not a CSV file: it is a Parquet file (use format: parquet or auto)"}
	}
	return in, nil
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
	return l.run(ctx, src, tbl, ml, in, opts)
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

type recordReader interface {
	read() (*record, error)
}

// run loads one input in one transaction.
func (l *Loader) run(ctx context.Context, src *Source, tbl *registry.Table, ml bool, in *input, opts Options) Result {
	started := time.Now()
	syncSHA := "" // known before loading (small files)
	if in.shaDone == nil {
		syncSHA = in.sha
	}
	ld := ledger.Load{Source: src.Name, FileName: in.name, SHA256: syncSHA, Bytes: in.size, TargetTable: src.Table}
	if in.size < 0 {
		ld.Bytes = 0
	}
	meta, err := resolveMeta(in, opts)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
	}
	if ml {
		ld.ModelVersion, ld.MLSource, ld.DatasetID = meta.values["model_version"], meta.values["source"], meta.values["dataset_id"]
		if g := meta.values["generated_at"]; g != "" {
			t, _ := time.Parse(time.RFC3339Nano, g)
			ld.GeneratedAt = &t
		}
	}
	// Same content already loaded: skip before doing any work.
	if syncSHA != "" && !opts.Force {
		if id, ok, err := ledger.LoadedBefore(ctx, l.pool, src.Name, syncSHA); err != nil {
			return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
		} else if ok {
			return l.skip(ctx, in, ld, id, started)
		}
	}
	if in.shaDone != nil && !opts.Force {
		// Stop the load early when the hash shows the content was loaded.
		go func() {
			if in.waitSHA() != nil {
				return
			}
			if id, ok, err := ledger.LoadedBefore(ctx, l.pool, src.Name, in.sha); err == nil && ok {
				in.skipID.Store(id)
			}
		}()
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, fmt.Errorf("connect: %w", err), started)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, fmt.Errorf("begin: %w", err), started)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := ledger.Begin(ctx, tx, &ld); err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
	}
	loadID := ld.ID
	var stages []*stage
	stagesCommitted := false
	bail := func(c ledger.Counts, err error) Result {
		_ = tx.Rollback(ctx)
		if stagesCommitted {
			l.dropStages(ctx, stages)
		}
		return l.fail(ctx, src, in, ld, c, err, started)
	}

	rr, header, bar, err := l.open(in, src, opts)
	defer bar.Done()
	if err != nil {
		return bail(ledger.Counts{}, err)
	}
	p, err := buildPlan(src, tbl, header, in.base, meta, ml)
	if err != nil {
		return bail(ledger.Counts{}, err)
	}
	p.loadID = loadID
	if len(p.ignored) > 0 {
		l.log.Debug("columns not loaded", "file", in.name, "source", src.Name, "columns", p.ignored)
	}
	rej := &spill{limit: 4 << 20}
	defer rej.close()
	streams := opts.Streams
	if streams == 0 {
		streams = 1
		if in.format == "csv" && in.size >= ParallelMinBytes {
			streams = DefaultStreams
		}
	}
	// The input's connection, one per stream and one spare (drop, skip
	// check) must fit in the pool.
	if m := int(l.pool.Config().MaxConns) - 2; streams > m {
		streams = max(m, 1)
	}
	targets := []copyTarget{{conn: tx.Conn().PgConn(), table: pgx.Identifier{tbl.Layer, tbl.Name}.Sanitize()}}
	if streams > 1 {
		if err := pglock.Xact(ctx, tx, pglock.LoadStage(loadID)); err != nil {
			return bail(ledger.Counts{}, fmt.Errorf("lock load stages: %w", err))
		}
		if err := l.cleanupStages(ctx); err != nil {
			l.log.Warn("leftover load stages not dropped", "err", err)
		}
		if stages, err = l.openStages(ctx, tbl, loadID, streams); err != nil {
			return bail(ledger.Counts{}, err)
		}
		defer closeStages(ctx, stages)
		targets = targets[:0]
		for _, s := range stages {
			targets = append(targets, copyTarget{conn: s.conn.Conn().PgConn(), table: s.qualified()})
		}
	}
	st, err := l.stream(ctx, p, rr, rej, targets, func() bool { return in.skipID.Load() != 0 })
	if errors.Is(err, errAlreadyLoaded) {
		_ = tx.Rollback(ctx)
		if in.waitSHA() == nil {
			ld.SHA256 = in.sha
		}
		return l.skip(ctx, in, ld, in.skipID.Load(), started)
	}
	counts := ledger.Counts{Read: st.read, Loaded: st.loaded, Rejected: st.rejected}
	if st.hasDate {
		lo, hi := daysToTime(st.minDate), daysToTime(st.maxDate)
		counts.MinDate, counts.MaxDate = &lo, &hi
	}
	if err != nil {
		return bail(counts, err)
	}
	if len(stages) > 0 {
		stagesCommitted = true // from here on, a failure drops them
		if err := l.commitStages(ctx, tbl, stages); err != nil {
			return bail(counts, err)
		}
		if err := attachStages(ctx, tx, tbl, stages); err != nil {
			return bail(counts, err)
		}
	}
	maxRatio := opts.MaxRejectRatio
	if maxRatio == 0 {
		maxRatio = DefaultMaxRejectRatio
	}
	if st.read > 0 && float64(st.rejected)/float64(st.read) > maxRatio {
		err := fmt.Errorf("%d of %d rows rejected (%.1f%%), above the %.1f%% threshold (--max-reject-ratio); first: line %d: %s",
			st.rejected, st.read, 100*float64(st.rejected)/float64(st.read), 100*maxRatio, st.firstReject.Line, st.firstReject.Reason)
		return bail(counts, err)
	}
	if st.rejected > 0 {
		if err := l.writeRejects(ctx, tx, rej); err != nil {
			return bail(counts, err)
		}
	}
	if err := in.waitSHA(); err != nil {
		return bail(counts, err)
	}
	if in.hasher != nil || in.shaDone != nil {
		if in.hasher != nil {
			in.sha = hex.EncodeToString(in.hasher.Sum(nil))
			ld.Bytes = in.counter.n
		}
		ld.SHA256 = in.sha
		if _, err := tx.Exec(ctx, `UPDATE meta.loads SET file_sha256 = $2, file_bytes = $3 WHERE load_id = $1`, loadID, in.sha, ld.Bytes); err != nil {
			return bail(counts, fmt.Errorf("record sha256: %w", err))
		}
	}
	// Serialise with concurrent loads of the same content, then look again.
	if err := pglock.Xact(ctx, tx, pglock.Input(src.Name, in.sha)); err != nil {
		return bail(counts, err)
	}
	if !opts.Force {
		id, ok, err := ledger.LoadedBefore(ctx, tx, src.Name, in.sha)
		if err != nil {
			return bail(counts, err)
		}
		if ok {
			_ = tx.Rollback(ctx)
			if stagesCommitted {
				l.dropStages(ctx, stages)
			}
			return l.skip(ctx, in, ld, id, started)
		}
	}
	if err := ledger.Finish(ctx, tx, loadID, counts); err != nil {
		return bail(counts, err)
	}
	if opts.BeforeCommit != nil {
		if err := opts.BeforeCommit(ctx, tx, loadID, counts); err != nil {
			return bail(counts, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return bail(counts, fmt.Errorf("commit: %w", err))
	}
	r := Result{File: in.name, Source: src.Name, LoadID: loadID, Status: ledger.StatusLoaded,
		RowsRead: counts.Read, RowsLoaded: counts.Loaded, RowsRejected: counts.Rejected}
	l.logResult(r, time.Since(started), &counts)
	return r
}

// open prepares the record reader and reads the header.
func (l *Loader) open(in *input, src *Source, opts Options) (recordReader, []string, *progress.Task, error) {
	bar := opts.Progress.Bytes(in.base, in.size)
	if in.format == "parquet" {
		if in.ra == nil {
			return nil, nil, bar, &FileError{Msg: "Parquet input needs a file"}
		}
		pr, err := newParquetReader(in.ra, in.size)
		if err != nil {
			return nil, nil, bar, err
		}
		bar.Add(in.size)
		return pr, pr.header, bar, nil
	}
	r := bar.Reader(in.r)
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(3)
	utf8BOM := bytes.Equal(head, []byte{0xEF, 0xBB, 0xBF})
	if utf8BOM {
		_, _ = br.Discard(3)
	}
	r = br
	if !utf8BOM {
		switch src.Dialect.Encoding {
		case "latin-1":
			r = charmap.ISO8859_1.NewDecoder().Reader(br)
		case "windows-1252":
			r = charmap.Windows1252.NewDecoder().Reader(br)
		}
	}
	cr := newCSVReader(r, src.Dialect.Delimiter[0], src.Dialect.MaxRecordBytes)
	rec, err := cr.read()
	if errors.Is(err, io.EOF) {
		return nil, nil, bar, &FileError{Msg: "empty file: no header line"}
	}
	if err != nil {
		return nil, nil, bar, err
	}
	if rec.problem != "" {
		return nil, nil, bar, &FileError{Line: rec.line, Msg: "header: " + rec.problem}
	}
	header := make([]string, len(rec.fields))
	for i, f := range rec.fields {
		header[i] = string(f)
	}
	return cr, header, bar, nil
}

type streamStats struct {
	read, loaded, rejected int64
	minDate, maxDate       int32
	hasDate                bool
	firstReject            ledger.Reject
}

// stream parses, validates and encodes rows on one goroutine while pgconn
// sends them on one goroutine per COPY target; chunks of whole rows go to
// the targets in turn.
func (l *Loader) stream(ctx context.Context, p *plan, rr recordReader, rej *spill, targets []copyTarget, stop func() bool) (streamStats, error) {
	var st streamStats
	pipes := make([]*chunkPipe, len(targets))
	for i := range pipes {
		pipes[i] = newChunkPipe()
	}
	rw := &rejectWriter{w: rej, loadID: p.loadID}
	var prodErr error
	done := make(chan struct{})
	fail := func(err error) {
		prodErr = err
		for _, pp := range pipes {
			pp.finish(err)
		}
	}
	go func() {
		defer close(done)
		next := 0
		bufs := make([][]byte, len(pipes))
		for i, pp := range pipes {
			bufs[i] = append(pp.get(), copyHeader...)
		}
		buf := bufs[0]
		for {
			rec, err := rr.read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fail(err)
				return
			}
			st.read++
			if st.read&4095 == 0 && stop() {
				fail(errAlreadyLoaded)
				return
			}
			out, rerr := p.encodeRow(buf, rec, &st.minDate, &st.maxDate, &st.hasDate)
			if rerr != nil {
				if rerr.fatal {
					fail(&FileError{Line: rec.line, Column: int64(p.fieldIndex(rerr.column)) + 1, Msg: rerr.reason})
					return
				}
				st.rejected++
				r := ledger.Reject{Line: rec.line, Column: rerr.column, Reason: rerr.reason, Raw: string(rec.rawText())}
				if st.rejected == 1 {
					st.firstReject = r
				}
				if err := rw.add(r); err != nil {
					fail(fmt.Errorf("buffer rejected rows: %w", err))
					return
				}
				continue
			}
			st.loaded++
			buf = out
			if len(buf) >= chunkSend {
				if err := pipes[next].send(buf); err != nil {
					fail(err)
					return
				}
				bufs[next] = pipes[next].get()
				next = (next + 1) % len(pipes)
				buf = bufs[next]
			}
		}
		bufs[next] = buf
		for i, pp := range pipes {
			if err := pp.send(append(bufs[i], 0xff, 0xff)); err != nil {
				fail(err)
				return
			}
			pp.finish(nil)
		}
	}()
	cols := quoteCols(p.columns)
	g, gctx := errgroup.WithContext(ctx)
	for i, t := range targets {
		g.Go(func() error {
			_, err := t.conn.CopyFrom(gctx, pipes[i], "COPY "+t.table+" ("+cols+") FROM STDIN (FORMAT binary)")
			pipes[i].abort()
			if err != nil {
				return fmt.Errorf("COPY into %s: %w", t.table, err)
			}
			return nil
		})
	}
	err := g.Wait()
	for _, pp := range pipes {
		pp.abort()
	}
	<-done
	if prodErr != nil && !errors.Is(prodErr, errAborted) {
		return st, prodErr
	}
	if err != nil {
		return st, err
	}
	return st, nil
}

func quoteCols(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// fieldIndex is the file column of a target (for error positions).
func (p *plan) fieldIndex(col string) int {
	for _, t := range p.targets {
		if t.name == col {
			return t.field
		}
	}
	return -1
}

// rejectWriter encodes rejected rows as binary COPY tuples of
// meta.rejected_rows (load_id, line, column_name, reason, raw).
type rejectWriter struct {
	w      io.Writer
	loadID int64
	buf    []byte
}

func (r *rejectWriter) add(rj ledger.Reject) error {
	b := r.buf[:0]
	b = binary.BigEndian.AppendUint16(b, 5)
	b = appendInt64Field(b, r.loadID)
	b = appendInt64Field(b, rj.Line)
	if rj.Column == "" {
		b = appendNull(b)
	} else {
		b = appendText(b, rj.Column)
	}
	b = appendText(b, ledger.SanitizeText(rj.Reason))
	b = appendText(b, ledger.SanitizeText(rj.Raw))
	r.buf = b
	_, err := r.w.Write(b)
	return err
}

func appendText(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func (l *Loader) writeRejects(ctx context.Context, tx pgx.Tx, rej *spill) error {
	body, err := rej.reader()
	if err != nil {
		return fmt.Errorf("read back rejected rows: %w", err)
	}
	r := io.MultiReader(bytes.NewReader(copyHeader), body, bytes.NewReader([]byte{0xff, 0xff}))
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, r,
		"COPY meta.rejected_rows (load_id, line, column_name, reason, raw) FROM STDIN (FORMAT binary)"); err != nil {
		return fmt.Errorf("write rejected rows: %w", err)
	}
	return nil
}

func (l *Loader) skip(ctx context.Context, in *input, ld ledger.Load, earlier int64, started time.Time) Result {
	reason := fmt.Sprintf("same content (sha256 %s) already loaded as load %d; --force reloads", short(in.sha), earlier)
	id, err := ledger.RecordSkip(context.WithoutCancel(ctx), l.pool, ld, reason)
	r := Result{File: in.name, Source: ld.Source, LoadID: id, Status: ledger.StatusSkipped}
	if err != nil {
		r.Status, r.Error = ledger.StatusFailed, err.Error()
	}
	l.logResult(r, time.Since(started), nil)
	return r
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// fail records a failed input (after its transaction rolled back).
func (l *Loader) fail(ctx context.Context, src *Source, in *input, ld ledger.Load, c ledger.Counts, cause error, started time.Time) Result {
	msg := in.name + ": " + cause.Error()
	if ld.SHA256 == "" && in.waitSHA() == nil {
		ld.SHA256 = in.sha
	}
	if ld.SHA256 == "" && in.hasher != nil {
		ld.SHA256 = hex.EncodeToString(in.hasher.Sum(nil))
		ld.Bytes = in.counter.n
	}
	// A failed input loads nothing: every row read counts as refused, so
	// rows_read = rows_loaded + rows_rejected holds for failures too.
	fc := ledger.Counts{Read: c.Read, Rejected: c.Read}
	id, err := ledger.RecordFailure(context.WithoutCancel(ctx), l.pool, ld, fc, errors.New(msg))
	if err != nil {
		msg += " (and recording the failure failed: " + err.Error() + ")"
	}
	r := Result{File: in.name, Source: src.Name, LoadID: id, Status: ledger.StatusFailed,
		RowsRead: c.Read, RowsRejected: c.Read, Error: msg}
	l.logResult(r, time.Since(started), nil)
	return r
}

func (l *Loader) logResult(r Result, elapsed time.Duration, c *ledger.Counts) {
	attrs := []any{"file", r.File, "source", r.Source, "load_id", r.LoadID, "status", r.Status,
		"rows_read", r.RowsRead, "rows_loaded", r.RowsLoaded, "rows_rejected", r.RowsRejected,
		"duration_ms", elapsed.Milliseconds()}
	if c != nil && c.MinDate != nil {
		attrs = append(attrs, "min_date", c.MinDate.Format(time.DateOnly), "max_date", c.MaxDate.Format(time.DateOnly))
	}
	if r.Status == ledger.StatusFailed {
		l.log.Error("load", append(attrs, "error", r.Error)...)
		return
	}
	l.log.Info("load", attrs...)
}
