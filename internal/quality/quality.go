package quality

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pglock"
)

// Levels of a check.
const (
	LevelError = "error" // a failure fails the run (novawh check exits 3)
	LevelWarn  = "warn"
	LevelInfo  = "info"
)

// Config tunes the checks. Zero values take the defaults.
type Config struct {
	// FreshnessMaxAge is the largest age of a source's latest business date
	// (meta.loads.max_date) before the freshness check fails (default 48h).
	FreshnessMaxAge time.Duration
	// FreshnessLevel is the level of freshness failures (default warn).
	FreshnessLevel string
	// MaxKeyNullRatio is the largest share of a source's rows that silver
	// may drop for a missing key (default 0.01).
	MaxKeyNullRatio float64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.FreshnessMaxAge <= 0 {
		c.FreshnessMaxAge = 48 * time.Hour
	}
	if c.FreshnessLevel == "" {
		c.FreshnessLevel = LevelWarn
	}
	if c.MaxKeyNullRatio <= 0 {
		c.MaxKeyNullRatio = 0.01
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a bad configuration.
func (c Config) Validate() error {
	switch c.FreshnessLevel {
	case "", LevelError, LevelWarn, LevelInfo:
	default:
		return fmt.Errorf("freshness level must be error, warn or info, not %q", c.FreshnessLevel)
	}
	if c.MaxKeyNullRatio < 0 || c.MaxKeyNullRatio > 1 {
		return fmt.Errorf("key null ratio must be between 0 and 1, not %g", c.MaxKeyNullRatio)
	}
	return nil
}

// Result is one check on one table.
type Result struct {
	Check     string
	Table     string
	Level     string
	Observed  float64
	Threshold string
	Passed    bool
	Detail    string
}

// Report is one run of every check.
type Report struct {
	RunID    int64
	Results  []Result
	Errors   int // failed error-level checks
	Warnings int // failed warn-level checks
}

// Passed is true when no error-level check failed.
func (r Report) Passed() bool { return r.Errors == 0 }

// WriteTable prints the results as an aligned table and a summary line.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tLEVEL\tCHECK\tTABLE\tOBSERVED\tTHRESHOLD\tDETAIL")
	for _, c := range r.Results {
		res := "pass"
		if !c.Passed {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res, c.Level, c.Check, c.Table, fmtNum(c.Observed), c.Threshold, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "check run %d: %d checks, %d error-level failures, %d warnings\n", r.RunID, len(r.Results), r.Errors, r.Warnings)
	return err
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.4g", f)
}

// Checker runs the checks.
type Checker struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	cfg  Config

	// afterStart, when set (tests), runs on the run's connection once its
	// meta.check_runs row is recorded.
	afterStart func(ctx context.Context, conn *pgx.Conn) error
}

// New returns a Checker; log may be nil.
func New(pool *pgxpool.Pool, log *slog.Logger, cfg Config) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{pool: pool, log: log, cfg: cfg.withDefaults()}
}

// check is one query returning the observed value (and optionally a detail).
type check struct {
	name, table, level, threshold string
	query                         string
	pass                          func(observed float64) bool
}

func zero(o float64) bool { return o == 0 }

// AbandonedReason is the error recorded on a check run marked abandoned.
const AbandonedReason = "the process ended before finishing (killed, crashed or lost its database connection)"

// Run executes every check, records the results and returns the report.
// An error means the checks could not run, not that one failed; the run is
// then recorded as failed with that error. Check runs are serialised by the
// check lock: a run still 'running' when the lock is taken belongs to a
// dead process and is marked abandoned.
func (c *Checker) Run(ctx context.Context) (rep Report, err error) {
	if err := c.cfg.Validate(); err != nil {
		return Report{}, err
	}
	held, err := pglock.Acquire(ctx, c.pool, pglock.Check, pglock.Wait{For: -1})
	if err != nil {
		return rep, fmt.Errorf("quality: %w", err)
	}
	defer held.Release(ctx)
	conn := held.Conn()
	tag, err := conn.Exec(ctx, `UPDATE meta.check_runs SET status = 'abandoned', finished_at = clock_timestamp(),
		error = coalesce(error, $1) WHERE status = 'running'`, AbandonedReason)
	if err != nil {
		return rep, fmt.Errorf("quality: mark abandoned check runs: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		c.log.Warn("earlier check runs did not finish: marked abandoned", "runs", n)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO meta.check_runs DEFAULT VALUES RETURNING run_id`).Scan(&rep.RunID); err != nil {
		return rep, fmt.Errorf("quality: start run: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, ferr := conn.Exec(fctx, `UPDATE meta.check_runs SET status = 'failed', finished_at = clock_timestamp(), error = $2
			WHERE run_id = $1 AND status = 'running'`, rep.RunID, err.Error()); ferr != nil {
			c.log.Warn("quality: record failure (the next check run marks this one abandoned)", "run_id", rep.RunID, "err", ferr)
		}
	}()
	if c.afterStart != nil {
		if err := c.afterStart(ctx, conn.Conn()); err != nil {
			return rep, err
		}
	}
	var results []Result
	for _, ch := range c.checks() {
		var observed float64
		var detail *string
		if err := conn.QueryRow(ctx, ch.query).Scan(&observed, &detail); err != nil {
			return rep, fmt.Errorf("quality: check %s on %s: %w", ch.name, ch.table, err)
		}
		r := Result{Check: ch.name, Table: ch.table, Level: ch.level, Observed: observed, Threshold: ch.threshold, Passed: ch.pass(observed)}
		if detail != nil {
			r.Detail = *detail
		}
		results = append(results, r)
	}
	fresh, err := c.freshness(ctx, conn)
	if err != nil {
		return rep, err
	}
	results = append(results, fresh...)

	tx, err := conn.Begin(ctx)
	if err != nil {
		return rep, fmt.Errorf("quality: record results: %w", err)
	}
	defer tx.Rollback(context.Background())
	for _, r := range results {
		if !r.Passed {
			switch r.Level {
			case LevelError:
				rep.Errors++
			case LevelWarn:
				rep.Warnings++
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO meta.check_results (run_id, check_name, table_name, level, observed, threshold, passed, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''))`,
			rep.RunID, r.Check, r.Table, r.Level, r.Observed, r.Threshold, r.Passed, r.Detail); err != nil {
			return rep, fmt.Errorf("quality: record %s on %s: %w", r.Check, r.Table, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE meta.check_runs SET status = 'finished', finished_at = clock_timestamp(), passed = $2, errors = $3, warnings = $4
		WHERE run_id = $1`, rep.RunID, rep.Errors == 0, rep.Errors, rep.Warnings); err != nil {
		return rep, fmt.Errorf("quality: finish run: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("quality: record results: %w", err)
	}
	rep.Results = results
	c.log.Info("quality checks done", "check_run_id", rep.RunID, "checks", len(results), "errors", rep.Errors, "warnings", rep.Warnings)
	return rep, nil
}

// freshness checks the latest business date of every source.
func (c *Checker) freshness(ctx context.Context, conn *pgxpool.Conn) ([]Result, error) {
	rows, err := conn.Query(ctx, `SELECT source, max(max_date) FROM meta.loads
		WHERE status = 'loaded' GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("quality: freshness: %w", err)
	}
	type src struct {
		name   string
		latest *time.Time
	}
	srcs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (src, error) {
		var s src
		return s, r.Scan(&s.name, &s.latest)
	})
	if err != nil {
		return nil, fmt.Errorf("quality: freshness: %w", err)
	}
	maxDays := c.cfg.FreshnessMaxAge.Hours() / 24
	now := c.cfg.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var out []Result
	for _, s := range srcs {
		r := Result{Check: "freshness", Table: "source " + s.name, Level: c.cfg.FreshnessLevel,
			Threshold: fmt.Sprintf("<= %s days", fmtNum(maxDays))}
		if s.latest == nil {
			r.Observed, r.Detail = -1, "no business dates recorded in meta.loads"
			r.Passed = false
		} else {
			age := today.Sub(*s.latest).Hours() / 24
			r.Observed = age
			r.Passed = age <= maxDays
			r.Detail = "latest date " + s.latest.Format(time.DateOnly)
		}
		out = append(out, r)
	}
	return out, nil
}
