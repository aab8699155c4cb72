package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/novacorrente/novawh/internal/pglock"
)

// Gold tables a refresh writes, in meta.gold_changes / Result.Rows naming.
const (
	TableDimItem        = "gold.dim_item"
	TableDimSite        = "gold.dim_site"
	TableDimTime        = "gold.dim_time"
	TableFactForecast   = "gold.fact_forecast"
	TableAggRolling     = "gold.agg_forecast_rolling"
	TableFactInventory  = "gold.fact_inventory"
	TableFactExternal   = "gold.fact_external_daily"
	rollingLookbackDays = 29
)

// Options choose what a run does.
type Options struct {
	// Full rebuilds silver keys and every gold table from all of bronze.
	Full bool
	// NoWait returns at once with Status "busy" when another refresh holds
	// the lock, instead of waiting for it.
	NoWait bool

	// beforeCommit, when set (tests), runs inside the transaction after
	// every rewrite and before the commit.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
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
	// External is true when gold.fact_external_daily was rebuilt.
	External bool
	// Rows written per gold table (dimensions: rows changed).
	Rows     map[string]int64
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

// Run brings silver and gold up to date (see the package documentation).
func (r *Refresher) Run(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Mode: "incremental", Rows: map[string]int64{}}
	if opts.Full {
		res.Mode = "full"
	}
	wait := pglock.Wait{For: -1}
	if opts.NoWait {
		wait.For = 0
	} else {
		r.log.Debug("refresh: waiting for the refresh lock")
	}
	held, err := pglock.Acquire(ctx, r.pool, pglock.Refresh, wait)
	if errors.Is(err, pglock.ErrBusy) {
		res.Status = "busy"
		r.log.Info("refresh skipped: another refresh is running")
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	defer held.Release(ctx)
	conn := held.Conn()

	// We hold the refresh lock: a refresh still 'running' belongs to a dead
	// process (killed, crashed, or its connection was lost mid-transaction).
	if n, err := sweepAbandoned(ctx, conn); err != nil {
		return res, err
	} else if n > 0 {
		r.log.Warn("earlier refreshes did not finish: marked abandoned", "refreshes", n)
	}

	if err := conn.QueryRow(ctx, `INSERT INTO meta.refreshes (mode) VALUES ($1) RETURNING refresh_id`, res.Mode).Scan(&res.RefreshID); err != nil {
		return res, fmt.Errorf("refresh: record start: %w", err)
	}
	runErr := r.apply(ctx, conn.Conn(), opts, &res)
	res.Duration = time.Since(start)
	if runErr != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(fctx, `UPDATE meta.refreshes SET status = 'failed', error = $2,
			finished_at = clock_timestamp(), duration_ms = $3 WHERE refresh_id = $1`,
			res.RefreshID, runErr.Error(), res.Duration.Milliseconds()); err != nil {
			r.log.Warn("refresh: record failure", "err", err)
		}
		r.log.Error("refresh failed", "refresh_id", res.RefreshID, "mode", res.Mode, "err", runErr)
		return res, runErr
	}
	r.log.Info("refresh done", "refresh_id", res.RefreshID, "mode", res.Mode, "status", res.Status,
		"loads", len(res.LoadsApplied), "forecast_window", res.Forecast.String(),
		"inventory_window", res.Inventory.String(), "external", res.External,
		"rows", res.Rows, "duration_ms", res.Duration.Milliseconds())
	return res, nil
}

// AbandonedReason is the error recorded on a refresh marked abandoned.
const AbandonedReason = "the process ended before finishing (killed, crashed or lost its database connection); its transaction was rolled back"

// sweepAbandoned marks every 'running' refresh abandoned; the caller holds
// the refresh lock.
func sweepAbandoned(ctx context.Context, conn *pgxpool.Conn) (int64, error) {
	tag, err := conn.Exec(ctx, `UPDATE meta.refreshes SET status = 'abandoned', finished_at = clock_timestamp(),
		duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint,
		error = coalesce(error, $1) WHERE status = 'running'`, AbandonedReason)
	if err != nil {
		return 0, fmt.Errorf("refresh: mark abandoned refreshes: %w", err)
	}
	return tag.RowsAffected(), nil
}

type nullDate = *time.Time

func (r *Refresher) apply(ctx context.Context, conn *pgx.Conn, opts Options, res *Result) (err error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("refresh: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.Background())
		}
	}()
	// A full rebuild sorts and hashes every fact row: give it room so that
	// fewer sorts spill to disk.
	workMem := "256MB"
	if opts.Full {
		workMem = "1GB"
	}
	if _, err = tx.Exec(ctx, `SET LOCAL work_mem = '`+workMem+`'`); err != nil {
		return fmt.Errorf("refresh: set work_mem: %w", err)
	}

	rows, err := tx.Query(ctx, `SELECT load_id FROM meta.loads l WHERE status = 'loaded'
		AND NOT EXISTS (SELECT 1 FROM meta.refresh_loads a WHERE a.load_id = l.load_id) ORDER BY load_id`)
	if err != nil {
		return fmt.Errorf("refresh: pending loads: %w", err)
	}
	pending, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("refresh: pending loads: %w", err)
	}
	res.LoadsApplied = pending
	if !opts.Full && len(pending) == 0 {
		res.Status = "noop"
		if _, err = tx.Exec(ctx, `UPDATE meta.refreshes SET status = 'noop', finished_at = clock_timestamp(),
			duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint WHERE refresh_id = $1`, res.RefreshID); err != nil {
			return fmt.Errorf("refresh: record noop: %w", err)
		}
		return tx.Commit(ctx)
	}

	// Windows the pending loads touch (before silver changes).
	var fc, inv Window
	var fcSet, invSet, external bool
	if !opts.Full {
		var fMin, fMax, iMin, iMax, eMin, eMax, sMin, sMax nullDate
		err = tx.QueryRow(ctx, `SELECT
			(SELECT min(date) FROM bronze.ml_forecasts WHERE _load_id = ANY ($1)),
			(SELECT max(date) FROM bronze.ml_forecasts WHERE _load_id = ANY ($1)),
			(SELECT min(coalesce(date, (generated_at AT TIME ZONE 'America/Sao_Paulo')::date)) FROM bronze.inventory WHERE _load_id = ANY ($1)),
			(SELECT max(coalesce(date, (generated_at AT TIME ZONE 'America/Sao_Paulo')::date)) FROM bronze.inventory WHERE _load_id = ANY ($1)),
			(SELECT min(solicited_date) FROM bronze.erp_requisitions WHERE _load_id = ANY ($1)),
			(SELECT max(solicited_date) FROM bronze.erp_requisitions WHERE _load_id = ANY ($1)),
			s.lo, s.hi,
			EXISTS (SELECT 1 FROM bronze.economic_series WHERE _load_id = ANY ($1))
			 OR EXISTS (SELECT 1 FROM bronze.fx_ptax WHERE _load_id = ANY ($1))
			 OR EXISTS (SELECT 1 FROM bronze.weather_daily WHERE _load_id = ANY ($1))
			 OR EXISTS (SELECT 1 FROM bronze.telecom_5g WHERE _load_id = ANY ($1))
			FROM (SELECT min(b.solicited_date) AS lo, max(b.solicited_date) AS hi
			      FROM bronze.erp_requisitions b JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
			      WHERE NOT (b._load_id = ANY ($1)) AND EXISTS (
			          SELECT 1 FROM meta.loads n WHERE n.load_id = ANY ($1) AND n.source = l.source
			             AND n.file_name = l.file_name AND n.load_id > l.load_id
			             AND EXISTS (SELECT 1 FROM bronze.erp_requisitions x WHERE x._load_id = n.load_id))) s`,
			pending).Scan(&fMin, &fMax, &iMin, &iMax, &eMin, &eMax, &sMin, &sMax, &external)
		if err != nil {
			return fmt.Errorf("refresh: windows of loads %v: %w", pending, err)
		}
		fcSet = addRange(&fc, fcSet, fMin, fMax)
		fcSet = addRange(&fc, fcSet, eMin, eMax)
		fcSet = addRange(&fc, fcSet, sMin, sMax)
		invSet = addRange(&inv, invSet, iMin, iMax)
	} else {
		fc, inv, fcSet, invSet, external = Window{All: true}, Window{All: true}, true, true, true
	}

	// Silver keys of the new loads. The item resolution (silver.item_map,
	// silver.series_map, silver.demand_daily, gold.dim_item) folds every ERP
	// key, so it is recomputed only when a load can change it: ERP lines,
	// item master rows, or ML keys that are new or carry new attributes.
	var loadsArg any = pending
	if opts.Full {
		loadsArg = nil
	}
	var newKeys int64
	if err = tx.QueryRow(ctx, `SELECT silver.sync_ml_keys($1::bigint[])`, loadsArg).Scan(&newKeys); err != nil {
		return fmt.Errorf("refresh: sync ML keys: %w", err)
	}
	itemPass := opts.Full || newKeys > 0
	if !itemPass {
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bronze.erp_requisitions WHERE _load_id = ANY ($1))
			OR EXISTS (SELECT 1 FROM bronze.erp_items WHERE _load_id = ANY ($1))
			OR (NOT EXISTS (SELECT 1 FROM silver.item_map) AND EXISTS (SELECT 1 FROM silver.ml_keys))`, pending).Scan(&itemPass)
		if err != nil {
			return fmt.Errorf("refresh: item keys of loads %v: %w", pending, err)
		}
	}
	r.log.Debug("refresh: item resolution", "recompute", itemPass, "new_or_changed_ml_keys", newKeys)
	changes := map[string]*Window{}
	count := func(table, q string, args ...any) (int64, error) {
		var n int64
		t0 := time.Now()
		if err := tx.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("refresh: %s: %w", table, err)
		}
		r.log.Debug("refresh step", "table", table, "rows", n, "duration_ms", time.Since(t0).Milliseconds())
		res.Rows[table] += n
		return n, nil
	}
	if itemPass {
		t0 := time.Now()
		if _, err = tx.Exec(ctx, `SELECT silver.refresh_item_map()`); err != nil {
			return fmt.Errorf("refresh: item map: %w", err)
		}
		if _, err = tx.Exec(ctx, `ANALYZE silver.item_map`); err != nil {
			return fmt.Errorf("refresh: analyze item map: %w", err)
		}
		if !opts.Full {
			var changed int64
			err = tx.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM silver.series_map o JOIN silver.series_map_v n USING (item_raw, site_raw, series_raw)
				 WHERE (o.item_id, o.site_id) IS DISTINCT FROM (n.item_id, n.site_id))
				+ (SELECT count(*) FROM gold.dim_item d WHERE NOT EXISTS (SELECT 1 FROM silver.stg_items s WHERE s.item_id = d.item_id))`).Scan(&changed)
			if err != nil {
				return fmt.Errorf("refresh: compare key resolution: %w", err)
			}
			if changed > 0 {
				r.log.Info("refresh: item resolution changed, recomputing every date", "changed", changed)
				fc, inv, fcSet, invSet = Window{All: true}, Window{All: true}, true, true
			}
		}
		if _, err = tx.Exec(ctx, `DELETE FROM silver.series_map`); err != nil {
			return fmt.Errorf("refresh: series map: %w", err)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO silver.series_map SELECT item_raw, site_raw, series_raw, item_id, site_id FROM silver.series_map_v`); err != nil {
			return fmt.Errorf("refresh: series map: %w", err)
		}
		if _, err = tx.Exec(ctx, `ANALYZE silver.ml_keys, silver.series_map`); err != nil {
			return fmt.Errorf("refresh: analyze keys: %w", err)
		}
		if _, err = tx.Exec(ctx, `SELECT silver.refresh_demand_daily()`); err != nil {
			return fmt.Errorf("refresh: daily demand: %w", err)
		}
		r.log.Debug("refresh step", "table", "silver item resolution", "duration_ms", time.Since(t0).Milliseconds())
		n, err := count(TableDimItem, `SELECT gold.refresh_dim_item()`)
		if err != nil {
			return err
		}
		if n > 0 || opts.Full {
			changes[TableDimItem] = &Window{All: true}
		}
	} else {
		res.Rows[TableDimItem] = 0 // unchanged: no load can change the item resolution
	}
	if !opts.Full {
		// A site whose depot changes changes the actual of every date.
		var changed int64
		err = tx.QueryRow(ctx, `SELECT count(*) FROM gold.dim_site d LEFT JOIN silver.stg_sites s USING (site_id)
			WHERE d.site_id <> 'ALL' AND (s.site_id IS NULL OR d.deposito IS DISTINCT FROM s.deposito)`).Scan(&changed)
		if err != nil {
			return fmt.Errorf("refresh: compare sites: %w", err)
		}
		if changed > 0 {
			r.log.Info("refresh: site depots changed, recomputing every date", "changed", changed)
			fc, inv, fcSet, invSet = Window{All: true}, Window{All: true}, true, true
		}
	}
	n, err := count(TableDimSite, `SELECT gold.refresh_dim_site()`)
	if err != nil {
		return err
	}
	if n > 0 || opts.Full {
		changes[TableDimSite] = &Window{All: true}
	}

	// ERP coverage: days inside it without demand have actual 0, outside NULL.
	var covFrom, covTo, prevFrom, prevTo nullDate
	if err = tx.QueryRow(ctx, `SELECT min(date), max(date) FROM silver.demand_daily`).Scan(&covFrom, &covTo); err != nil {
		return fmt.Errorf("refresh: demand coverage: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT demand_from, demand_to FROM meta.refreshes WHERE status = 'ok'
		ORDER BY refresh_id DESC LIMIT 1`).Scan(&prevFrom, &prevTo)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("refresh: previous demand coverage: %w", err)
	}
	if !fc.All {
		for _, rg := range coverageDelta(prevFrom, prevTo, covFrom, covTo) {
			fcSet = addRange(&fc, fcSet, &rg[0], &rg[1])
		}
	}

	if fcSet {
		f0, f1 := windowArgs(fc)
		if _, err := count(TableFactForecast, `SELECT gold.refresh_fact_forecast($1, $2)`, f0, f1); err != nil {
			return err
		}
		if fc.All {
			// Statistics of the rebuilt table for the steps below and for readers.
			if _, err := tx.Exec(ctx, `ANALYZE gold.fact_forecast`); err != nil {
				return fmt.Errorf("refresh: analyze %s: %w", TableFactForecast, err)
			}
		}
		var a1 any
		if !fc.All {
			a1 = fc.To.AddDate(0, 0, rollingLookbackDays)
		}
		if _, err := count(TableAggRolling, `SELECT gold.refresh_agg_forecast_rolling($1, $2)`, f0, a1); err != nil {
			return err
		}
		changes[TableFactForecast] = &fc
		agg := fc
		if !agg.All {
			agg.To = agg.To.AddDate(0, 0, rollingLookbackDays)
		}
		changes[TableAggRolling] = &agg
		if fc.All {
			if _, err := tx.Exec(ctx, `ANALYZE gold.agg_forecast_rolling`); err != nil {
				return fmt.Errorf("refresh: analyze %s: %w", TableAggRolling, err)
			}
		}
		res.Forecast = &fc
	}
	if invSet {
		i0, i1 := windowArgs(inv)
		if _, err := count(TableFactInventory, `SELECT gold.refresh_fact_inventory($1, $2)`, i0, i1); err != nil {
			return err
		}
		changes[TableFactInventory] = &inv
		res.Inventory = &inv
	}
	if external {
		if _, err := count(TableFactExternal, `SELECT gold.refresh_fact_external()`); err != nil {
			return err
		}
		changes[TableFactExternal] = &Window{All: true}
		res.External = true
	}
	n, err = count(TableDimTime, `SELECT gold.fill_dim_time(
		least((SELECT min(date) FROM gold.fact_forecast), (SELECT min(date) FROM gold.fact_inventory),
		      (SELECT min(date) FROM gold.fact_external_daily), $1::date),
		greatest((SELECT max(date) FROM gold.fact_forecast), (SELECT max(date) FROM gold.fact_inventory),
		         (SELECT max(date) FROM gold.fact_external_daily), $2::date))`, covFrom, covTo)
	if err != nil {
		return err
	}
	if n > 0 {
		changes[TableDimTime] = &Window{All: true}
	}

	// Change log for incremental exports, in the same transaction.
	tables := make([]string, 0, len(changes))
	for t := range changes {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		w0, w1 := windowArgs(*changes[t])
		if _, err = tx.Exec(ctx, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES ($1, $2, $3)`, t, w0, w1); err != nil {
			return fmt.Errorf("refresh: record gold change of %s: %w", t, err)
		}
	}

	if opts.beforeCommit != nil {
		if err = opts.beforeCommit(ctx, tx); err != nil {
			return err
		}
	}

	if _, err = tx.Exec(ctx, `INSERT INTO meta.refresh_loads (load_id, refresh_id)
		SELECT unnest($1::bigint[]), $2 ON CONFLICT (load_id) DO NOTHING`, pending, res.RefreshID); err != nil {
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
	var ff, ft, iff, it any
	if res.Forecast != nil && !res.Forecast.All {
		ff, ft = res.Forecast.From, res.Forecast.To
	}
	if res.Inventory != nil && !res.Inventory.All {
		iff, it = res.Inventory.From, res.Inventory.To
	}
	if _, err = tx.Exec(ctx, `UPDATE meta.refreshes SET status = 'ok', finished_at = clock_timestamp(),
		duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint,
		loads_applied = $2, forecast_from = $3, forecast_to = $4, inventory_from = $5, inventory_to = $6,
		external_rebuilt = $7, demand_from = $8, demand_to = $9, rows = $10 WHERE refresh_id = $1`,
		res.RefreshID, loadsJSON, ff, ft, iff, it, res.External, covFrom, covTo, rowsJSON); err != nil {
		return fmt.Errorf("refresh: record result: %w", err)
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("refresh: commit: %w", err)
	}
	res.Status = "ok"
	return nil
}

// addRange widens w (set tells whether w already holds a range) by
// [from, to] when both are known, and reports whether w is set.
func addRange(w *Window, set bool, from, to *time.Time) bool {
	if from == nil || to == nil {
		return set
	}
	if w.All {
		return true
	}
	if !set {
		w.From, w.To = *from, *to
		return true
	}
	if from.Before(w.From) {
		w.From = *from
	}
	if to.After(w.To) {
		w.To = *to
	}
	return true
}

func windowArgs(w Window) (any, any) {
	if w.All {
		return nil, nil
	}
	return w.From, w.To
}

// coverageDelta returns the date ranges whose membership in the ERP
// coverage changed between [pf, pt] and [nf, nt].
func coverageDelta(pf, pt, nf, nt *time.Time) [][2]time.Time {
	day := func(t time.Time, d int) time.Time { return t.AddDate(0, 0, d) }
	switch {
	case pf == nil && nf == nil:
		return nil
	case pf == nil:
		return [][2]time.Time{{*nf, *nt}}
	case nf == nil:
		return [][2]time.Time{{*pf, *pt}}
	}
	var out [][2]time.Time
	if nf.Before(*pf) {
		out = append(out, [2]time.Time{*nf, day(*pf, -1)})
	} else if pf.Before(*nf) {
		out = append(out, [2]time.Time{*pf, day(*nf, -1)})
	}
	if nt.After(*pt) {
		out = append(out, [2]time.Time{day(*pt, 1), *nt})
	} else if pt.After(*nt) {
		out = append(out, [2]time.Time{day(*nt, 1), *pt})
	}
	return out
}
