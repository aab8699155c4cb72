package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/dbconn"
	"github.com/novacorrente/novawh/internal/logx"
	"github.com/novacorrente/novawh/internal/pglocal"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// DefaultLogFile is the log file of the pipeline commands; EnvLogFile
// overrides it (the --log-file flag beats both).
const (
	DefaultLogFile = "logs/data_ingestion.log"
	EnvLogFile     = "NOVAWH_LOG_FILE"
)

// Exit codes shared by every command.
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitQuality = 3
)

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Usage wraps err as a usage/config error (exit code 2).
func Usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// App holds the global flags and the lazily built shared dependencies.
type App struct {
	DatabaseURL  string
	LogFormat    string
	LogFile      string
	RegistryPath string
	ConfigPath   string
	Verbose      bool

	Stdout io.Writer
	Stderr io.Writer
	Stdin  io.Reader
	// LookupEnv reads the environment (nil: os.LookupEnv); tests inject it.
	LookupEnv func(string) (string, bool)
	// Interactive reports whether a person answers on Stdin (nil: whether
	// Stdin is a terminal); tests inject it.
	Interactive func() bool

	log      *slog.Logger
	logFile  io.Closer
	pool     *pgxpool.Pool
	progress *progress.Reporter
	progOnce sync.Once
	conf     *config.File
	dsnOnce  sync.Once
	dsn      string
	// fileLog: the command writes the log file (pipeline work, or an
	// explicit --log-file).
	fileLog bool
	// started: the command line was accepted and the command began.
	started bool
}

// annotPipeline marks the commands that do pipeline work (load, pull,
// refresh, check, export, run, serve): only they write the log file by
// default. Others (db, migrate, status, registry, version) write it only
// when --log-file is given explicitly.
const annotPipeline = "novawh/pipeline"

// pipeline marks cmd as doing pipeline work (see annotPipeline).
func pipeline(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotPipeline] = "true"
	return cmd
}

// commands builds the top-level commands (listed in help by name).
var commands = []func(*App) *cobra.Command{
	newCheckCmd, newDBCmd, newExportCmd, newHealthCmd, newLoadCmd, newMigrateCmd, newPullCmd,
	newRefreshCmd, newRegistryCmd, newRunCmd, newServeCmd, newStatusCmd, newVersionCmd,
}

// Run executes novawh with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &App{Stdout: stdout, Stderr: stderr, Stdin: os.Stdin}
	return app.Run(ctx, args)
}

// Run executes novawh with args on a, whose Stdout, Stderr and Stdin (and
// optionally LookupEnv and Interactive) are set, and returns the exit code.
// A panic of the command becomes exit 1 with its stack on stderr.
func (a *App) Run(ctx context.Context, args []string) (code int) {
	root := newRoot(a)
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetIn(a.Stdin)
	defer a.close()
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(a.Stderr, "novawh: internal error (a bug: please report it with this output): panic: %v\n%s", p, debug.Stack())
			code = ExitFailed
		}
	}()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code = ExitFailed
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
	case !a.started:
		// cobra refused the command line (unknown command, wrong number
		// of arguments) before the command started.
		code = ExitUsage
	}
	fmt.Fprintf(a.Stderr, "novawh: error: %s\n", logx.OneLine(err.Error()))
	return code
}

func newRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "novawh",
		Short: "Nova Corrente's analytics warehouse in PostgreSQL",
		Long: `novawh turns Nova Corrente's ERP exports, precomputed ML results and external
series (weather, Brazilian economic indicators, 5G) into a PostgreSQL warehouse:
bronze (raw, typed), silver (cleaned), gold (star schema, rolling aggregates),
served over HTTP and exported to Parquet.

Connection: --database-url, else DATABASE_URL, else the standard PG* variables.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Reached once cobra accepted the command line: errors from
			// here on are the command's own.
			app.started = true
			app.fileLog = cmd.Annotations[annotPipeline] == "true" || cmd.Flag("log-file").Changed
			// Global settings: flag, else environment, else the default.
			if err := (config.Resolver{Flags: cmd.Flags(), LookupEnv: app.LookupEnv}).Resolve("", app,
				config.Bind(&app.LogFile, "log-file", EnvLogFile).AllowEmpty(),
				config.Bind(&app.DatabaseURL, "database-url", dbconn.EnvURL)); err != nil {
				return Usage(err)
			}
			switch app.LogFormat {
			case "text", "json":
			default:
				return Usage(fmt.Errorf("--log-format must be text or json, not %q", app.LogFormat))
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&app.DatabaseURL, "database-url", "", "PostgreSQL URL (default $DATABASE_URL, then the standard PG* variables)")
	pf.StringVar(&app.LogFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&app.LogFile, "log-file", DefaultLogFile, "pipeline commands (load, pull, refresh, check, export, run, serve) also append JSON log lines to this file, created on the first line (\"\" disables; given explicitly, any command writes it)")
	pf.StringVar(&app.ConfigPath, "config", "", "configuration file (default ./novawh.yaml, else the copy built into the binary)")
	pf.StringVar(&app.RegistryPath, "registry", "", "schema registry file (default: the copy of data/schema_registry.json built into the binary)")
	pf.BoolVarP(&app.Verbose, "verbose", "v", false, "log debug messages")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })

	built := make([]*cobra.Command, 0, len(commands))
	for _, f := range commands {
		built = append(built, f(app))
	}
	sort.Slice(built, func(i, j int) bool { return built[i].Name() < built[j].Name() })
	root.AddCommand(built...)
	return root
}

// Logger returns the command's structured logger.
func (a *App) Logger() *slog.Logger {
	if a.log != nil {
		return a.log
	}
	level := slog.LevelInfo
	if a.Verbose {
		level = slog.LevelDebug
	}
	// Log lines on a terminal first clear the progress bar's line.
	stderr := a.Progress().Writer(a.Stderr)
	file := ""
	if a.fileLog {
		file = a.LogFile
	}
	log, closer, err := logx.New(stderr, logx.Options{Format: a.LogFormat, File: file, Level: level})
	if err != nil {
		// The log file could not be opened: keep logging to stderr only.
		log, closer, _ = logx.New(stderr, logx.Options{Format: a.LogFormat, Level: level})
		log.Warn("log file disabled", "err", err)
	}
	a.log, a.logFile = log, closer
	return a.log
}

// Progress is the progress reporter on stderr: nil (quiet) when stderr is
// not a terminal.
func (a *App) Progress() *progress.Reporter {
	a.progOnce.Do(func() { a.progress = progress.New(a.Stderr, progress.Options{}) })
	return a.progress
}

// pgTargetEnv are the libpq variables that choose a server or database:
// with any of them set, no local server is looked for.
var pgTargetEnv = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGSERVICEFILE"}

// DSN is the connection string: --database-url, else DATABASE_URL; else,
// when no PG* variable names a server, the project's local server when it
// is running (`novawh db start`, `make demo`); else "" (pgx reads PG*).
func (a *App) DSN() string {
	a.dsnOnce.Do(func() {
		a.dsn = a.DatabaseURL
		if a.dsn != "" {
			return
		}
		lookup := a.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		for _, k := range pgTargetEnv {
			if v, ok := lookup(k); ok && v != "" {
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if s, ok := pglocal.Find(ctx, pglocal.DemoName, nil); ok {
			a.dsn = s.URL("postgres")
			a.Logger().Debug("no --database-url, DATABASE_URL or PG* set: using the local server (novawh db start)",
				"url", a.dsn, "dir", s.Dir)
		}
	})
	return a.dsn
}

// Pool connects (once) to the database.
func (a *App) Pool(ctx context.Context) (*pgxpool.Pool, error) {
	if a.pool != nil {
		return a.pool, nil
	}
	p, err := dbconn.Open(ctx, a.DSN(), nil)
	if err != nil {
		return nil, err
	}
	a.pool = p
	return p, nil
}

// Config loads the configuration file once (--config, else ./novawh.yaml,
// else the built-in copy); its problems are usage errors.
func (a *App) Config() (*config.File, error) {
	if a.conf != nil {
		return a.conf, nil
	}
	f, err := config.Load(a.ConfigPath)
	if err != nil {
		return nil, Usage(err)
	}
	a.conf = f
	return f, nil
}

// Resolver reads settings with the one precedence: the flags of cmd (nil:
// none, as for the API's jobs), then the environment, then the
// configuration file.
func (a *App) Resolver(cmd *cobra.Command) (config.Resolver, error) {
	f, err := a.Config()
	if err != nil {
		return config.Resolver{}, err
	}
	r := config.Resolver{File: f, LookupEnv: a.LookupEnv}
	if cmd != nil {
		r.Flags = cmd.Flags()
	}
	return r, nil
}

// Registry loads the schema registry (--registry or the embedded one).
func (a *App) Registry() (*registry.Registry, error) {
	r, err := registry.Load(a.RegistryPath)
	if err != nil {
		return nil, Usage(err)
	}
	return r, nil
}

func (a *App) close() {
	if a.pool != nil {
		a.pool.Close()
	}
	if a.logFile != nil {
		_ = a.logFile.Close()
	}
}
