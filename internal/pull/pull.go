package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	_ "time/tzdata" // city time zones without relying on the host's zoneinfo

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/panics"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// Result statuses.
const (
	StatusOK      = "ok"      // every window committed (or nothing was due)
	StatusFailed  = "failed"  // a window failed: the series stopped there
	StatusSkipped = "skipped" // not pulled (--offline, or source not configured)
)

// Result is the outcome of one series of one source.
type Result struct {
	Source string `json:"source"`
	Series string `json:"series"`
	// Name is the series' readable label (selic_target, USD, salvador_ba).
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	// From and To are the requested range (empty when nothing was due).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Windows is how many windows (requests) were committed; WindowsUnchanged
	// of them returned a body already loaded (recorded as skipped loads).
	Windows          int   `json:"windows"`
	WindowsUnchanged int   `json:"windows_unchanged,omitempty"`
	RowsLoaded       int64 `json:"rows_loaded"`
	RowsRejected     int64 `json:"rows_rejected"`
	// Watermark after the pull (YYYY-MM-DD), "" when the series has none.
	Watermark string  `json:"watermark,omitempty"`
	LoadIDs   []int64 `json:"load_ids,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// Failed counts failed results.
func Failed(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Status == StatusFailed {
			n++
		}
	}
	return n
}

// Options of one Pull.
type Options struct {
	// From and To backfill an explicit range of days (zero: from the
	// watermark minus the lookback, to today minus end_lag_days).
	From, To time.Time
	// Today overrides the current date (America/Sao_Paulo) for tests.
	Today time.Time
	// Offline skips every pull with a warning (status skipped).
	Offline bool
	// Progress shows each series' windows on a terminal (nil: none).
	Progress *progress.Reporter
}

// Puller pulls external series into bronze.
type Puller struct {
	pool  *pgxpool.Pool
	reg   *registry.Registry
	cfg   Config
	log   *slog.Logger
	fetch *fetcher
	csv   CSVLoader
	// loader validates and writes the records of every API window (one
	// validation path into bronze: the registry's).
	loader *load.Loader
	hooks  *testHooks // nil outside tests
}

// testHooks are fault-injection points that only tests set.
type testHooks struct {
	window func(source, series string) // on the source's goroutine, after a window's fetch
}

// Option configures a Puller.
type Option func(*Puller)

// WithCSVLoader sets the loader used by anatel_5g (see CSVLoader).
func WithCSVLoader(l CSVLoader) Option { return func(p *Puller) { p.csv = l } }

// New returns a Puller. cfg is usually LoadConfig's result.
func New(pool *pgxpool.Pool, reg *registry.Registry, cfg Config, log *slog.Logger, opts ...Option) (*Puller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Puller{pool: pool, reg: reg, cfg: cfg, log: log, fetch: newFetcher(cfg, log), loader: load.New(pool, reg, load.Config{}, log)}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

func (p *Puller) httpSource(name string) httpSource {
	switch name {
	case SourceSGS:
		return sgsSource{p.cfg.SGS}
	case SourcePTAX:
		return ptaxSource{p.cfg.PTAX}
	case SourceSIDRA:
		return sidraSource{p.cfg.SIDRA}
	case SourceOpenMeteo:
		return openMeteoSource{p.cfg.OpenMeteo}
	}
	return nil
}

// Pull pulls sources (nil or empty: every enabled source) and returns one
// Result per series. The error is non-nil only for an unknown source or a
// cancelled context; failed series are results with status failed (see
// Failed), and never stop the other series or sources.
func (p *Puller) Pull(ctx context.Context, sources []string, opts Options) ([]Result, error) {
	if len(sources) == 0 {
		for _, s := range SourceNames {
			if p.cfg.Enabled(s) {
				sources = append(sources, s)
			}
		}
	}
	for _, s := range sources {
		if !KnownSource(s) {
			return nil, fmt.Errorf("pull: unknown source %q (known: %s)", s, strings.Join(SourceNames, ", "))
		}
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && opts.From.After(opts.To) {
		return nil, fmt.Errorf("pull: --from %s is after --to %s", opts.From.Format(time.DateOnly), opts.To.Format(time.DateOnly))
	}
	if opts.Today.IsZero() {
		opts.Today = time.Now().In(brasilia)
	}
	opts.Today = day(opts.Today)
	if !opts.From.IsZero() {
		opts.From = day(opts.From)
	}
	if !opts.To.IsZero() {
		opts.To = day(opts.To)
	}

	results := make([][]Result, len(sources))
	sem := make(chan struct{}, p.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var perr error
			defer func() {
				if perr != nil {
					// A panic outside a window (those fail only their window).
					p.logPanic(s, perr)
					results[i] = append(results[i], Result{Source: s, Status: StatusFailed, Error: perr.Error()})
				}
			}()
			defer panics.Recover(&perr, "pulling "+s)
			results[i] = p.pullSource(ctx, s, opts)
		}()
	}
	wg.Wait()
	var out []Result
	for _, rs := range results {
		out = append(out, rs...)
	}
	return out, ctx.Err()
}

var brasilia = mustLoad("America/Sao_Paulo")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func (p *Puller) pullSource(ctx context.Context, source string, opts Options) []Result {
	if source == SourceAnatel {
		return []Result{p.pullAnatel(ctx, opts)}
	}
	src := p.httpSource(source)
	var out []Result
	for _, s := range src.list() {
		res := Result{Source: source, Series: s.key, Name: s.name}
		if opts.Offline {
			res.Status = StatusSkipped
			res.Error = "offline: not pulled"
			p.log.Warn("pull skipped (offline)", "source", source, "series", s.key)
			out = append(out, res)
			continue
		}
		p.pullSeries(ctx, src, s, opts, &res)
		out = append(out, res)
	}
	return out
}

// rangeFor returns the days to pull for a series: the explicit backfill, or
// from watermark - lookback (else the configured start) to today - lag.
func (p *Puller) rangeFor(ctx context.Context, source, key string, opts Options) (from, to time.Time, wm *time.Time, err error) {
	cm := p.cfg.common(source)
	wm, err = p.watermark(ctx, source, key)
	if err != nil {
		return
	}
	if !opts.From.IsZero() {
		from = opts.From
	} else if wm != nil {
		from = wm.AddDate(0, 0, -cm.LookbackDays)
	} else {
		from, _ = parseDate(cm.Start)
	}
	if !opts.To.IsZero() {
		to = opts.To
	} else {
		to = opts.Today.AddDate(0, 0, -cm.EndLagDays)
	}
	return from, to, wm, nil
}

func (p *Puller) pullSeries(ctx context.Context, src httpSource, s series, opts Options, res *Result) {
	source := src.name()
	log := p.log.With("source", source, "series", s.key)
	from, to, wm, err := p.rangeFor(ctx, source, s.key, opts)
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		return
	}
	if wm != nil {
		res.Watermark = wm.Format(time.DateOnly)
	}
	res.Status = StatusOK
	if from.After(to) {
		log.Info("pull: nothing due", "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly))
		return
	}
	from, to = src.align(from, to)
	res.From, res.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	sp, _ := parseSpan(p.cfg.common(source).Window)
	base := p.cfg.common(source).BaseURL
	windows := chunk(from, to, sp)
	task := opts.Progress.Count(fmt.Sprintf("pull %s %s", source, s.key), int64(len(windows)), "windows")
	defer task.Done()
	for _, w := range windows {
		u := src.url(base, s, w)
		out, err := p.pullWindow(ctx, src, s, w, u, log)
		if err != nil {
			res.Status = StatusFailed
			res.Error = fmt.Sprintf("%s %s window %s: %v", source, s.key, w, err)
			log.Error("pull window failed", "window", w.String(), "err", err)
			break
		}
		res.Windows++
		task.Add(1)
		if out.unchanged {
			res.WindowsUnchanged++
		}
		res.RowsLoaded += out.counts.Loaded
		res.RowsRejected += out.counts.Rejected
		res.LoadIDs = append(res.LoadIDs, out.loadID)
		if out.watermark != nil {
			res.Watermark = out.watermark.Format(time.DateOnly)
		}
	}
}

type windowOutcome struct {
	loadID    int64
	counts    ledger.Counts
	watermark *time.Time
	unchanged bool
}

// pullWindow fetches and loads one window in one transaction; on failure
// it records a failed meta.loads row and changes nothing else.
func (p *Puller) pullWindow(ctx context.Context, src httpSource, s series, w window, u string, log *slog.Logger) (windowOutcome, error) {
	source := src.name()
	l := ledger.Load{Source: source, FileName: u, SHA256: sum(nil), TargetTable: src.table(), SameNameOnly: true}
	fail := func(c ledger.Counts, err error) (windowOutcome, error) { return p.failWindow(ctx, l, c, err) }
	start := time.Now()
	resp, err := p.fetch.get(ctx, u)
	if resp != nil {
		l.SHA256, l.Bytes = sum(resp.Body), int64(len(resp.Body))
	}
	if err != nil {
		return fail(ledger.Counts{}, err)
	}
	var perr error
	out, err := func() (windowOutcome, error) {
		defer panics.Recover(&perr, "reading the "+source+" response")
		return p.loadWindow(ctx, src, s, l, resp)
	}()
	if perr != nil {
		p.logPanic(source, perr)
		return fail(ledger.Counts{}, perr)
	}
	if err != nil {
		return out, err
	}
	log.Info("pull window loaded", "window", w.String(), "load_id", out.loadID, "rows_loaded", out.counts.Loaded,
		"rows_rejected", out.counts.Rejected, "unchanged", out.unchanged, "bytes", len(resp.Body), "duration_ms", time.Since(start).Milliseconds())
	return out, nil
}

// failWindow records a failed window (unless the pull was cancelled).
func (p *Puller) failWindow(ctx context.Context, l ledger.Load, c ledger.Counts, err error) (windowOutcome, error) {
	if ctx.Err() != nil {
		return windowOutcome{}, err
	}
	id, rerr := ledger.RecordFailure(context.WithoutCancel(ctx), p.pool, l, c, err)
	if rerr != nil {
		return windowOutcome{}, errors.Join(err, rerr)
	}
	return windowOutcome{loadID: id}, err
}

// logPanic logs a recovered panic with its stack.
func (p *Puller) logPanic(source string, err error) {
	var pe *panics.Error
	if errors.As(err, &pe) {
		p.log.Error("panic recovered: the window fails, the other series go on", "source", source, "err", err, "stack", string(pe.Stack))
	}
}

// loadWindow checks, parses and commits one fetched window.
func (p *Puller) loadWindow(ctx context.Context, src httpSource, s series, l ledger.Load, resp *response) (windowOutcome, error) {
	fail := func(c ledger.Counts, err error) (windowOutcome, error) { return p.failWindow(ctx, l, c, err) }
	if p.hooks != nil && p.hooks.window != nil {
		p.hooks.window(src.name(), s.key)
	}
	u := l.FileName
	if err := checkJSON(resp); err != nil {
		return fail(ledger.Counts{}, err)
	}
	parsed, err := src.parse(u, s, resp.Body)
	if err != nil {
		return fail(ledger.Counts{}, err)
	}
	out, err := p.commit(ctx, src, l, s.key, resp, parsed)
	var recorded errRecorded
	if errors.As(err, &recorded) {
		return out, recorded.error
	}
	if err != nil {
		return fail(parsed.counts(), err)
	}
	return out, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// commit loads the window through the file loader's validation and ledger
// protocol (load.LoadRecords): in one transaction its meta.loads row, its
// bronze rows and rejects, the raw response and the watermark's advance. A
// body identical to one already loaded from the same URL is recorded as a
// skipped load and only advances the watermark.
func (p *Puller) commit(ctx context.Context, src httpSource, l ledger.Load, key string, resp *response, pr *parsed) (windowOutcome, error) {
	table := src.table()
	rs := load.Records{Source: l.Source, Table: table, Name: l.FileName, SHA256: l.SHA256, Bytes: l.Bytes,
		Columns: src.columns(), Rows: pr.records(),
		SkipReason: func(earlier int64) string {
			return fmt.Sprintf("same response as load %d (same URL and sha256): rows already in %s", earlier, table)
		}}
	var wm *time.Time
	// An API window has no reject threshold: its bad elements are rejected
	// rows, the others load (as they always did).
	lr, err := p.loader.LoadRecords(ctx, rs, load.Options{MaxRejectRatio: 1, BeforeCommit: p.keepResponse(l.Source, key, resp, &wm)})
	out := windowOutcome{loadID: lr.LoadID, watermark: wm,
		counts: ledger.Counts{Read: lr.RowsRead, Loaded: lr.RowsLoaded, Rejected: lr.RowsRejected}}
	if err != nil {
		return out, errRecorded{err}
	}
	if lr.Status == ledger.StatusSkipped {
		out.unchanged, out.counts = true, ledger.Counts{}
		if c := pr.counts(); c.MaxDate != nil {
			err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
				w, err := advanceWatermark(ctx, tx, l.Source, key, *c.MaxDate)
				out.watermark = &w
				return err
			})
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// errRecorded is an error of a window whose failure the loader already
// recorded in meta.loads.
type errRecorded struct{ error }

func (e errRecorded) Unwrap() error { return e.error }

// keepResponse is the BeforeCommit hook of a pulled input: the raw
// response is stored with the input's load_id and the series' watermark
// moves to the input's last business date, in the input's transaction.
func (p *Puller) keepResponse(source, series string, resp *response, wm **time.Time) func(context.Context, pgx.Tx, int64, ledger.Counts) error {
	return func(ctx context.Context, tx pgx.Tx, id int64, c ledger.Counts) error {
		if _, err := tx.Exec(ctx, `INSERT INTO bronze.raw_responses
			(source, series, url, status_code, content_type, fetched_at, sha256, body, _load_id)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, $9)`,
			source, series, resp.URL, resp.Status, resp.ContentType, resp.FetchedAt, sum(resp.Body), resp.Body, id); err != nil {
			return fmt.Errorf("store raw response: %w", err)
		}
		if c.MaxDate != nil {
			w, err := advanceWatermark(ctx, tx, source, series, *c.MaxDate)
			if err != nil {
				return err
			}
			*wm = &w
		}
		return nil
	}
}

// advanceWatermark moves the series' watermark forward to d (never back)
// and returns its new value.
func advanceWatermark(ctx context.Context, tx pgx.Tx, source, key string, d time.Time) (time.Time, error) {
	var wm time.Time
	err := tx.QueryRow(ctx, `INSERT INTO meta.watermarks (source, series, watermark) VALUES ($1, $2, $3)
		ON CONFLICT (source, series) DO UPDATE
		SET watermark = GREATEST(meta.watermarks.watermark, EXCLUDED.watermark), updated_at = now()
		RETURNING watermark`, source, key, d).Scan(&wm)
	if err != nil {
		return time.Time{}, fmt.Errorf("advance watermark %s/%s: %w", source, key, err)
	}
	return wm, nil
}

func (p *Puller) watermark(ctx context.Context, source, key string) (*time.Time, error) {
	var wm time.Time
	err := p.pool.QueryRow(ctx, `SELECT watermark FROM meta.watermarks WHERE source = $1 AND series = $2`, source, key).Scan(&wm)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read watermark %s/%s: %w", source, key, err)
	}
	return &wm, nil
}
