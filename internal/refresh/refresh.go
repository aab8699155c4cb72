package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/refresh/refreshdb"
)

// Gold tables a refresh writes, in meta.gold_changes / Result.Rows naming.
const (
	TableDimItem            = "gold.dim_item"
	TableDimSite            = "gold.dim_site"
	TableDimTime            = "gold.dim_time"
	TableDimSupplier        = "gold.dim_supplier"
	TableFactForecast       = "gold.fact_forecast"
	TableAggRolling         = "gold.agg_forecast_rolling"
	TableFactInventory      = "gold.fact_inventory"
	TableFactExternal       = "gold.fact_external_daily"
	TableFactDemand         = "gold.fact_demand"
	TableFactDemandSupplier = "gold.fact_demand_supplier"
	TableAggDemandRolling   = "gold.agg_demand_rolling"
)

// Options choose what a run does.
type Options struct {
	// Full rebuilds silver keys and every gold table from all of bronze.
	Full bool
	// NoWait returns at once with Status "busy" when another refresh holds
	// the lock, instead of waiting for it.
	NoWait bool
	// Progress draws the run's steps on a terminal (a spinner naming the
	// running step, the rows written so far and the elapsed time); nil
	// draws nothing. Every step is also logged at debug level.
	Progress *progress.Reporter
	// OnStep, when set, is called as each step starts and ends (from the
	// goroutine that called Run).
	OnStep func(Step)

	// beforeCommit, when set (tests), runs inside the transaction after
	// every rewrite and before the commit.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
}

// Step is one step of a refresh: a silver table kept up to date or a gold
// table rewritten. A step is reported when it starts (Done false) and when
// it ends (Done true, with its rows and duration).
type Step struct {
	Name    string        // e.g. "gold.fact_forecast"
	Done    bool          // false: the step starts
	Rows    int64         // rows written by the step
	Elapsed time.Duration // the step's own duration
	Total   time.Duration // since the run started
}

// Window is a closed range of dates; All means every date.
type Window struct {
	From, To time.Time
	All      bool
}

func (w *Window) String() string {
	if w == nil {
		return "none"
	}
	if w.All {
		return "all dates"
	}
	return w.From.Format(time.DateOnly) + ".." + w.To.Format(time.DateOnly)
}

// UnmarshalJSON reads the SQL side's spans: null, {"all": true} or
// {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}.
func (w *Window) UnmarshalJSON(b []byte) error {
	var s struct {
		All  bool   `json:"all"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.All {
		*w = Window{All: true}
		return nil
	}
	from, err := time.Parse(time.DateOnly, s.From)
	if err != nil {
		return fmt.Errorf("window from: %w", err)
	}
	to, err := time.Parse(time.DateOnly, s.To)
	if err != nil {
		return fmt.Errorf("window to: %w", err)
	}
	*w = Window{From: from, To: to}
	return nil
}

// Result describes one run.
type Result struct {
	RefreshID    int64
	Mode         string // full | incremental
	Status       string // ok | noop | busy
	LoadsApplied []int64
	// Forecast is the window of gold.fact_forecast rewritten (the rolling
	// aggregates: up to 29 days further); nil when untouched.
	Forecast  *Window
	Inventory *Window
	// Demand is the window of gold.fact_demand rewritten; DemandChanged the
	// dates whose ERP lines changed (a re-export of the same lines rewrites
	// the facts, whose load_id changes, but none of their figures).
	Demand, DemandChanged *Window
	// Coverage is the ERP coverage after the run (first to last demand date).
	Coverage *Window
	// External is true when gold.fact_external_daily was rebuilt.
	External bool
	// Rows written per gold table (dimensions: rows changed).
	Rows map[string]int64
	// TableRows is the row count of every gold table after the run.
	TableRows map[string]int64
	// Rebuilt lists the gold tables rebuilt whole and swapped in.
	Rebuilt  []string
	Duration time.Duration
}

// Refresher runs refreshes against one database.
type Refresher struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// New returns a Refresher; log may be nil.
func New(pool *pgxpool.Pool, log *slog.Logger) *Refresher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Refresher{pool: pool, log: log}
}

// AbandonedReason is the error recorded on a refresh marked abandoned.
const AbandonedReason = "the process ended before finishing (killed, crashed or lost its database connection); its transaction was rolled back"

// progressNotice is the NOTICE message meta.progress_start and
// meta.progress send as each step starts and ends.
const progressNotice = "novawh-progress"

// Run brings silver and gold up to date (see the package documentation).
func (r *Refresher) Run(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Mode: "incremental", Rows: map[string]int64{}}
	if opts.Full {
		res.Mode = "full"
	}
	// One dedicated session holds the lock and does the work, so the
	// progress notices of its steps (meta.progress) reach this run only; pgx
	// delivers them while the statement runs, on this goroutine.
	task := opts.Progress.Count("refresh", 0, "rows")
	defer task.Done()
	cfg := r.pool.Config().ConnConfig.Copy()
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.Message != progressNotice {
			return
		}
		var p struct {
			Step  string `json:"step"`
			Start bool   `json:"start"`
			Rows  int64  `json:"rows"`
			MS    int64  `json:"ms"`
		}
		if json.Unmarshal([]byte(n.Detail), &p) != nil {
			return
		}
		s := Step{Name: p.Step, Done: !p.Start, Rows: p.Rows, Elapsed: time.Duration(p.MS) * time.Millisecond, Total: time.Since(start)}
		if s.Done {
			r.log.Debug("refresh step", "step", s.Name, "rows", s.Rows, "duration_ms", s.Elapsed.Milliseconds())
			task.Add(s.Rows)
		} else {
			task.Describe("refresh: " + s.Name)
		}
		if opts.OnStep != nil {
			opts.OnStep(s)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("refresh: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	wait := pglock.Wait{For: -1}
	if opts.NoWait {
		wait.For = 0
	} else {
		r.log.Debug("refresh: waiting for the refresh lock")
		task.Describe("refresh: waiting for the refresh lock")
	}
	if err := pglock.LockWait(ctx, conn, pglock.Refresh, wait); errors.Is(err, pglock.ErrBusy) {
		res.Status = "busy"
		r.log.Info("refresh skipped: another refresh is running")
		return res, nil
	} else if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	// The lock goes with the session (conn.Close above).

	pending, err := migrate.PendingRepeatables(ctx, conn)
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	if len(pending) > 0 {
		return res, fmt.Errorf("refresh: the database's transformation SQL differs from this binary's (%s): run `novawh migrate up`", strings.Join(pending, ", "))
	}

	q := refreshdb.New(conn)
	// We hold the refresh lock: a refresh still 'running' belongs to a dead
	// process (killed, crashed, or its connection was lost mid-transaction).
	if n, err := q.SweepAbandonedRefreshes(ctx, AbandonedReason); err != nil {
		return res, fmt.Errorf("refresh: mark abandoned refreshes: %w", err)
	} else if n > 0 {
		r.log.Warn("earlier refreshes did not finish: marked abandoned", "refreshes", n)
	}
	if res.RefreshID, err = q.StartRefresh(ctx, res.Mode); err != nil {
		return res, fmt.Errorf("refresh: record start: %w", err)
	}
	runErr := r.apply(ctx, conn, opts, &res)
	res.Duration = time.Since(start)
	if runErr != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		msg := runErr.Error()
		if err := q.FailRefresh(fctx, refreshdb.FailRefreshParams{Error: &msg, RefreshID: res.RefreshID}); err != nil {
			r.log.Warn("refresh: record failure (the next refresh marks it abandoned)", "err", err)
		}
		r.log.Error("refresh failed", "refresh_id", res.RefreshID, "mode", res.Mode, "err", runErr)
		return res, runErr
	}
	r.log.Info("refresh done", "refresh_id", res.RefreshID, "mode", res.Mode, "status", res.Status,
		"loads", len(res.LoadsApplied), "forecast_window", res.Forecast.String(),
		"inventory_window", res.Inventory.String(), "demand_window", res.Demand.String(), "external", res.External,
		"rebuilt", res.Rebuilt, "rows", res.Rows, "duration_ms", res.Duration.Milliseconds())
	return res, nil
}

// goldResult is gold.refresh's result.
type goldResult struct {
	Rows      map[string]int64 `json:"rows"`
	TableRows map[string]int64 `json:"table_rows"`
	Rebuilt   []string         `json:"rebuilt"`
	Forecast  *Window          `json:"forecast"`
	Inventory *Window          `json:"inventory"`
	Demand    *Window          `json:"demand"`
	Changed   *Window          `json:"demand_changed"`
	Coverage  *Window          `json:"coverage"`
	External  bool             `json:"external"`
}

// apply runs the refresh transaction: the pending loads, silver.refresh,
// gold.refresh and the ledger, committed together.
func (r *Refresher) apply(ctx context.Context, conn *pgx.Conn, opts Options, res *Result) (err error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("refresh: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	q := refreshdb.New(tx)
	// A rebuild sorts and hashes every fact row and builds every index:
	// give it room so that fewer sorts spill to disk.
	mem := refreshdb.SetRefreshMemoryParams{SortMem: "256MB", IndexMem: "256MB"}
	if opts.Full {
		mem = refreshdb.SetRefreshMemoryParams{SortMem: "1GB", IndexMem: "1GB"}
	}
	if err = q.SetRefreshMemory(ctx, mem); err != nil {
		return fmt.Errorf("refresh: set memory: %w", err)
	}
	pending, err := q.PendingLoads(ctx)
	if err != nil {
		return fmt.Errorf("refresh: pending loads: %w", err)
	}
	res.LoadsApplied = pending
	if !opts.Full && len(pending) == 0 {
		res.Status = "noop"
		if err = q.FinishRefresh(ctx, refreshdb.FinishRefreshParams{Status: "noop", LoadsApplied: []byte("[]"),
			Rows: []byte("{}"), TableRows: []byte("{}"), RefreshID: res.RefreshID}); err != nil {
			return fmt.Errorf("refresh: record noop: %w", err)
		}
		return tx.Commit(ctx)
	}

	changes, err := q.RefreshSilver(ctx, refreshdb.RefreshSilverParams{Loads: pending, Rebuild: opts.Full})
	if err != nil {
		return fmt.Errorf("refresh: silver: %w%s", err, where(err))
	}
	r.log.Debug("refresh: silver changes", "changes", json.RawMessage(changes))

	out, err := q.RefreshGold(ctx, refreshdb.RefreshGoldParams{Changes: changes, Rebuild: opts.Full})
	if err != nil {
		return fmt.Errorf("refresh: gold: %w%s", err, where(err))
	}
	var gr goldResult
	if err = json.Unmarshal(out, &gr); err != nil {
		return fmt.Errorf("refresh: gold result %s: %w", out, err)
	}
	res.Rows, res.TableRows, res.Rebuilt = gr.Rows, gr.TableRows, gr.Rebuilt
	res.Forecast, res.Inventory, res.Demand, res.DemandChanged = gr.Forecast, gr.Inventory, gr.Demand, gr.Changed
	res.Coverage, res.External = gr.Coverage, gr.External

	if opts.beforeCommit != nil {
		if err = opts.beforeCommit(ctx, tx); err != nil {
			return err
		}
	}
	if err = q.RecordAppliedLoads(ctx, refreshdb.RecordAppliedLoadsParams{LoadIds: pending, RefreshID: res.RefreshID}); err != nil {
		return fmt.Errorf("refresh: record applied loads: %w", err)
	}
	loadsJSON, err := json.Marshal(pending)
	if err != nil {
		return fmt.Errorf("refresh: encode loads: %w", err)
	}
	rowsJSON, err := json.Marshal(res.Rows)
	if err != nil {
		return fmt.Errorf("refresh: encode rows: %w", err)
	}
	tableRowsJSON, err := json.Marshal(res.TableRows)
	if err != nil {
		return fmt.Errorf("refresh: encode table rows: %w", err)
	}
	fin := refreshdb.FinishRefreshParams{Status: "ok", LoadsApplied: loadsJSON, ExternalRebuilt: res.External,
		Rows: rowsJSON, TableRows: tableRowsJSON, RefreshID: res.RefreshID}
	fin.ForecastFrom, fin.ForecastTo = bounds(res.Forecast)
	fin.InventoryFrom, fin.InventoryTo = bounds(res.Inventory)
	fin.DemandFrom, fin.DemandTo = bounds(res.Coverage)
	if err = q.FinishRefresh(ctx, fin); err != nil {
		return fmt.Errorf("refresh: record result: %w", err)
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("refresh: commit: %w", err)
	}
	res.Status = "ok"
	return nil
}

// bounds gives a bounded window's dates (NULL for none or every date).
func bounds(w *Window) (pgtype.Date, pgtype.Date) {
	if w == nil || w.All {
		return pgtype.Date{}, pgtype.Date{}
	}
	return pgtype.Date{Time: w.From, Valid: true}, pgtype.Date{Time: w.To, Valid: true}
}

// where is " (in <function, line>)" for a server error raised inside a
// function of migrations/transform, else "".
func where(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Where == "" {
		return ""
	}
	first, _, _ := strings.Cut(pe.Where, "\n")
	return " (in " + first + ")"
}
