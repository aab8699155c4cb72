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
	"github.com/novacorrente/novawh/internal/pglock"
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
}

// Puller pulls external series into bronze.
type Puller struct {
	pool  *pgxpool.Pool
	reg   *registry.Registry
	cfg   Config
	log   *slog.Logger
	fetch *fetcher
	csv   CSVLoader
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
	p := &Puller{pool: pool, reg: reg, cfg: cfg, log: log, fetch: newFetcher(cfg, log)}
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
	for _, w := range chunk(from, to, sp) {
		u := src.url(base, s, w)
		out, err := p.pullWindow(ctx, src, s, w, u, log)
		if err != nil {
			res.Status = StatusFailed
			res.Error = fmt.Sprintf("%s %s window %s: %v", source, s.key, w, err)
			log.Error("pull window failed", "window", w.String(), "err", err)
			break
		}
		res.Windows++
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
	l := ledger.Load{Source: source, FileName: u, SHA256: strings.Repeat("0", 64), TargetTable: src.table()}
	fail := func(c ledger.Counts, err error) (windowOutcome, error) {
		if ctx.Err() != nil {
			return windowOutcome{}, err
		}
		id, rerr := ledger.RecordFailure(context.WithoutCancel(ctx), p.pool, l, c, err)
		if rerr != nil {
			return windowOutcome{}, errors.Join(err, rerr)
		}
		return windowOutcome{loadID: id}, err
	}
	start := time.Now()
	resp, err := p.fetch.get(ctx, u)
	if resp != nil {
		l.SHA256, l.Bytes = sum(resp.Body), int64(len(resp.Body))
	}
	if err != nil {
		return fail(ledger.Counts{}, err)
	}
	if err := checkJSON(resp); err != nil {
		return fail(ledger.Counts{}, err)
	}
	parsed, err := src.parse(u, s, resp.Body)
	if err != nil {
		return fail(ledger.Counts{}, err)
	}
	out, err := p.commit(ctx, l, s.key, resp, parsed, src.table(), src.columns())
	if err != nil {
		return fail(parsed.counts(), err)
	}
	log.Info("pull window loaded", "window", w.String(), "load_id", out.loadID, "rows_loaded", out.counts.Loaded,
		"rows_rejected", out.counts.Rejected, "unchanged", out.unchanged, "bytes", len(resp.Body), "duration_ms", time.Since(start).Milliseconds())
	return out, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// commit writes the window in one transaction: ledger row, raw response,
// bronze rows, rejects, watermark. A body identical to one already loaded
// from the same URL is recorded as a skipped load and only advances the
// watermark.
func (p *Puller) commit(ctx context.Context, l ledger.Load, key string, resp *response, pr *parsed, table string, cols []string) (windowOutcome, error) {
	counts := pr.counts()
	out := windowOutcome{counts: counts}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return out, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	// Serialise concurrent pulls of the same content.
	if err := pglock.Xact(ctx, tx, pglock.Input(l.Source, l.SHA256)); err != nil {
		return out, err
	}
	var earlier int64
	err = tx.QueryRow(ctx, `SELECT load_id FROM meta.loads WHERE source = $1 AND file_name = $2 AND file_sha256 = $3
		AND status = 'loaded' ORDER BY load_id DESC LIMIT 1`, l.Source, l.FileName, l.SHA256).Scan(&earlier)
	switch {
	case err == nil:
		id, err := ledger.RecordSkip(ctx, tx, l, fmt.Sprintf("same response as load %d (same URL and sha256): rows already in %s", earlier, table))
		if err != nil {
			return out, err
		}
		out = windowOutcome{loadID: id, unchanged: true}
	case errors.Is(err, pgx.ErrNoRows):
		if err := ledger.Begin(ctx, tx, &l); err != nil {
			return out, err
		}
		out.loadID = l.ID
		if _, err := tx.Exec(ctx, `INSERT INTO bronze.raw_responses
			(source, series, url, status_code, content_type, fetched_at, sha256, body, _load_id)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, $9)`,
			l.Source, key, resp.URL, resp.Status, resp.ContentType, resp.FetchedAt, l.SHA256, resp.Body, l.ID); err != nil {
			return out, fmt.Errorf("store raw response: %w", err)
		}
		if len(pr.rows) > 0 {
			schema, name, _ := strings.Cut(table, ".")
			all := append(append([]string{}, cols...), "_load_id", "_line")
			n, err := tx.CopyFrom(ctx, pgx.Identifier{schema, name}, all, pgx.CopyFromSlice(len(pr.rows), func(i int) ([]any, error) {
				r := pr.rows[i]
				return append(append(make([]any, 0, len(r.values)+2), r.values...), l.ID, r.line), nil
			}))
			if err != nil {
				return out, fmt.Errorf("copy %d rows into %s: %w", len(pr.rows), table, err)
			}
			if n != int64(len(pr.rows)) {
				return out, fmt.Errorf("copy into %s: wrote %d of %d rows", table, n, len(pr.rows))
			}
		}
		if err := ledger.WriteRejects(ctx, tx, l.ID, pr.rejects); err != nil {
			return out, err
		}
		if err := ledger.Finish(ctx, tx, l.ID, counts); err != nil {
			return out, err
		}
	default:
		return out, fmt.Errorf("look up earlier loads: %w", err)
	}
	if counts.MaxDate != nil {
		wm, err := advanceWatermark(ctx, tx, l.Source, key, *counts.MaxDate)
		if err != nil {
			return out, err
		}
		out.watermark = &wm
	}
	if err := tx.Commit(ctx); err != nil {
		return out, fmt.Errorf("commit: %w", err)
	}
	if out.unchanged {
		out.counts = ledger.Counts{}
	}
	return out, nil
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
