package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/pull"
)

func newPullCmd(app *App) *cobra.Command {
	var (
		all      bool
		from, to string
		baseURLs []string
		asJSON   bool
		offline  bool
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "pull [SOURCE...] | --all",
		Short: "Pull external series (BCB SGS and PTAX, IBGE SIDRA, Open-Meteo, Anatel 5G) into bronze",
		Long: `Pull external series from their public HTTP APIs into bronze, incrementally.

Sources: bcb_sgs (bronze.economic_series), bcb_ptax (bronze.fx_ptax),
ibge_sidra (bronze.economic_series), open_meteo (bronze.weather_daily, hourly
values aggregated to days in each city's time zone) and anatel_5g
(bronze.telecom_5g, a CSV through the loader's "sources: anatel_5g" mapping).
Series, cities, base URLs, windows, lookback and HTTP politeness are in the
"pull:" section of novawh.yaml (docs/pull.md).

Each series is pulled from its watermark (meta.watermarks) minus the
configured lookback, to today, in windows the API accepts (SGS daily series:
at most 10 years). Each window is one meta.loads row written in one
transaction with its raw response (bronze.raw_responses, with sha256), its
rows, its rejects and the watermark advance. A failed window stops its
series and leaves its watermark unchanged; the other series and sources go
on. Requests: per-attempt timeout, 3 attempts with exponential backoff and
jitter on network errors, 429 (Retry-After honoured) and 5xx, a rate limit
per host, and a User-Agent naming novawh.

--offline (or NOVAWH_OFFLINE=1) skips every pull with a warning and exits 0,
so the rest of the pipeline still runs on files.

Exit status: 0 when every series succeeded (or was skipped), 1 when any
failed, 2 on usage or configuration errors.`,
		Example: `  novawh pull --all
  novawh pull bcb_sgs bcb_ptax --json
  novawh pull bcb_sgs --from 2015-01-01 --to 2019-12-31
  novawh pull open_meteo --base-url http://127.0.0.1:8081/v1/archive
  novawh pull --all --base-url bcb_sgs=http://mirror.local/dados/serie`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return Usage(errors.New("give SOURCE names or --all, not both"))
			}
			if !all && len(args) == 0 {
				return Usage(fmt.Errorf("name the sources to pull (%s) or use --all", strings.Join(pull.SourceNames, ", ")))
			}
			for _, a := range args {
				if !pull.KnownSource(a) {
					return Usage(fmt.Errorf("unknown source %q (known: %s)", a, strings.Join(pull.SourceNames, ", ")))
				}
			}
			var opts pull.Options
			var err error
			if opts.From, err = parseDay("--from", from); err != nil {
				return err
			}
			if opts.To, err = parseDay("--to", to); err != nil {
				return err
			}
			if !opts.From.IsZero() && !opts.To.IsZero() && opts.From.After(opts.To) {
				return Usage(fmt.Errorf("--from %s is after --to %s", from, to))
			}
			r, err := app.Resolver(cmd)
			if err != nil {
				return err
			}
			cfg, err := pull.LoadConfig(r.File)
			if err != nil {
				return Usage(err)
			}
			// --offline=true|false beats NOVAWH_OFFLINE; --timeout beats pull.timeout.
			if err := r.Resolve("", &opts, config.Bind(&opts.Offline, "offline", pull.EnvOffline),
				config.Bind(&cfg.Timeout, "timeout", "")); err != nil {
				return Usage(err)
			}
			if cfg.Timeout <= 0 {
				return Usage(fmt.Errorf("--timeout %s must be positive", cfg.Timeout))
			}
			for _, b := range baseURLs {
				src, u, ok := strings.Cut(b, "=")
				if !ok || strings.Contains(src, "/") {
					// Plain URL: only meaningful for a single source.
					if len(args) != 1 {
						return Usage(fmt.Errorf("--base-url %s: with several sources use --base-url SOURCE=URL", b))
					}
					src, u = args[0], b
				}
				if err := cfg.SetBaseURL(src, u); err != nil {
					return Usage(err)
				}
			}
			log := app.Logger()
			sources := args
			if all {
				sources = nil
			}
			if opts.Offline {
				// No database, no network: every series is reported skipped.
				p, err := pull.New(nil, nil, cfg, log)
				if err != nil {
					return Usage(err)
				}
				res, err := p.Pull(cmd.Context(), sources, opts)
				if err != nil {
					return Usage(err)
				}
				return report(app, res, asJSON)
			}
			reg, err := app.Registry()
			if err != nil {
				return err
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			var popts []pull.Option
			lcfg, err := load.LoadConfig(r.File)
			if err != nil {
				return Usage(err)
			}
			popts = append(popts, pull.WithCSVLoader(load.New(pool, reg, lcfg, log)))
			p, err := pull.New(pool, reg, cfg, log, popts...)
			if err != nil {
				return Usage(err)
			}
			if !asJSON {
				opts.Progress = app.Progress()
			}
			res, err := p.Pull(cmd.Context(), sources, opts)
			if err != nil {
				return err
			}
			return report(app, res, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&all, "all", false, "pull every enabled source")
	fl.StringVar(&from, "from", "", "backfill from this day (YYYY-MM-DD) instead of the watermark minus the lookback")
	fl.StringVar(&to, "to", "", "pull up to this day (YYYY-MM-DD; default today, minus the source's end_lag_days)")
	fl.StringArrayVar(&baseURLs, "base-url", nil, "override a base URL: URL (one source) or SOURCE=URL; repeatable (tests, mirrors)")
	fl.BoolVar(&asJSON, "json", false, "print a JSON summary {results: [...], failed: N} on stdout")
	fl.BoolVar(&offline, "offline", false, "skip every pull with a warning and exit 0 (default from NOVAWH_OFFLINE=1; --offline=false forces pulls)")
	fl.DurationVar(&timeout, "timeout", 0, "per-request timeout (default: pull.timeout of the configuration, 60s)")
	return pipeline(cmd)
}

func parseDay(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, Usage(fmt.Errorf("%s %q: want YYYY-MM-DD", flag, s))
	}
	return t, nil
}

func report(app *App, res []pull.Result, asJSON bool) error {
	failed := pull.Failed(res)
	if asJSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if res == nil {
			res = []pull.Result{}
		}
		if err := enc.Encode(struct {
			Results []pull.Result `json:"results"`
			Failed  int           `json:"failed"`
		}{res, failed}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tSERIES\tSTATUS\tWINDOWS\tLOADED\tREJECTED\tWATERMARK\tERROR")
		for _, r := range res {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Source, r.Series, r.Status, r.Windows, r.RowsLoaded, r.RowsRejected, r.Watermark, r.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if failed > 0 {
		var first string
		for _, r := range res {
			if r.Status == pull.StatusFailed {
				first = r.Error
				break
			}
		}
		return fmt.Errorf("pull: %d of %d series failed; first: %s", failed, len(res), first)
	}
	return nil
}
