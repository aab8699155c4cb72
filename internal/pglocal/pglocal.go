package pglocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, pg_ctl): " +
	"install them with `apt-get install -y postgresql` (Debian/Ubuntu), " +
	"or run `docker compose up -d db` and set DATABASE_URL, " +
	"or point PG_BINDIR at a folder holding initdb and pg_ctl")

// Options configure a server.
type Options struct {
	// Dir holds the data directory, the socket directory and the log.
	// It is created when missing.
	Dir string
	// Port to listen on; 0 picks a free one (and keeps it across restarts
	// of a persistent Dir).
	Port   int
	Logger *slog.Logger
}

// Server is a running (or stopped) local PostgreSQL.
type Server struct {
	Dir       string
	DataDir   string
	SocketDir string
	LogFile   string
	Port      int
	binDir    string
	cred      *syscall.Credential
	log       *slog.Logger
}

type state struct {
	Port int `json:"port"`
}

// BinDir finds the folder holding initdb and pg_ctl.
func BinDir() (string, error) {
	var candidates []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(globbed, func(i, j int) bool { return versionOf(globbed[i]) > versionOf(globbed[j]) })
	candidates = append(candidates, globbed...)
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// New prepares a server in opts.Dir without starting it.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("pglocal: Dir is required")
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Dir:       dir,
		DataDir:   filepath.Join(dir, "data"),
		SocketDir: filepath.Join(dir, "run"),
		LogFile:   filepath.Join(dir, "run", "postgres.log"),
		Port:      opts.Port,
		binDir:    bin,
		log:       log,
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pglocal: running as root needs the `postgres` user (apt-get install -y postgresql creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if st, err := s.readState(); err == nil && s.Port == 0 {
		s.Port = st.Port
	}
	return s, nil
}

// Start initialises the data directory when needed and starts the server.
// Starting a server that already runs is not an error.
func (s *Server) Start(ctx context.Context, durable bool) error {
	for _, d := range []string{s.Dir, s.SocketDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("pglocal: create %s: %w", d, err)
		}
		if err := s.own(d); err != nil {
			return err
		}
	}
	if err := s.traversable(s.Dir); err != nil {
		return err
	}
	if s.Running(ctx) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "PG_VERSION")); err != nil {
		start := time.Now()
		if out, err := s.run(ctx, "initdb", "-D", s.DataDir, "-U", "postgres", "-A", "trust",
			"-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
			return fmt.Errorf("pglocal: initdb in %s: %w: %s", s.DataDir, err, lastLines(out))
		}
		s.log.Info("initdb done", "dir", s.DataDir, "duration_ms", time.Since(start).Milliseconds())
	}
	if s.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		s.Port = p
	}
	fsync := "off"
	if durable {
		fsync = "on"
	}
	pgOpts := strings.Join([]string{
		"-p", strconv.Itoa(s.Port),
		"-k", s.SocketDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=" + fsync,
		"-c", "synchronous_commit=" + map[bool]string{true: "on", false: "off"}[durable],
		"-c", "full_page_writes=" + fsync,
		"-c", "max_connections=200",
		"-c", "shared_buffers=256MB",
		"-c", "max_wal_size=2GB",
		"-c", "unix_socket_permissions=0777",
	}, " ")
	if out, err := s.run(ctx, "pg_ctl", "-D", s.DataDir, "-l", s.LogFile, "-o", pgOpts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pglocal: start server in %s: %w: %s (log: %s)", s.DataDir, err, lastLines(out), s.LogFile)
	}
	if err := s.writeState(); err != nil {
		return err
	}
	s.log.Info("postgres started", "port", s.Port, "dir", s.Dir)
	return nil
}

// Running reports whether the server of this data directory is up.
func (s *Server) Running(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(s.DataDir, "postmaster.pid")); err != nil {
		return false
	}
	_, err := s.run(ctx, "pg_ctl", "-D", s.DataDir, "status")
	return err == nil
}

// Stop shuts the server down (fast mode). Stopping a stopped server is not an error.
func (s *Server) Stop(ctx context.Context) error {
	if !s.Running(ctx) {
		return nil
	}
	if out, err := s.run(ctx, "pg_ctl", "-D", s.DataDir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pglocal: stop server in %s: %w: %s", s.DataDir, err, lastLines(out))
	}
	s.log.Info("postgres stopped", "dir", s.Dir)
	return nil
}

// Remove stops the server and deletes its directory.
func (s *Server) Remove(ctx context.Context) error {
	stopErr := s.Stop(ctx)
	return errors.Join(stopErr, os.RemoveAll(s.Dir))
}

// URL is a connection URL for database db as the postgres superuser.
func (s *Server) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, prog), args...)
	cmd.Dir = s.Dir
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	// pg_ctl's server must outlive this process group's signals (Ctrl-C in
	// a test run): start it in its own session.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.cred != nil {
		cmd.SysProcAttr.Credential = s.cred
		cmd.Env = append(os.Environ(), "HOME="+s.Dir, "USER=postgres", "LOGNAME=postgres")
	}
	err := cmd.Run()
	return buf.Bytes(), err
}

func (s *Server) own(path string) error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("pglocal: chown %s to postgres: %w", path, err)
	}
	return nil
}

// traversable makes sure the postgres user can reach dir: every parent
// directory needs the search bit for others when running as root.
func (s *Server) traversable(dir string) error {
	if s.cred == nil {
		return nil
	}
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("pglocal: make %s traversable for the postgres user: %w", p, err)
			}
		}
	}
	return nil
}

func (s *Server) statePath() string { return filepath.Join(s.Dir, "state.json") }

func (s *Server) readState() (state, error) {
	var st state
	b, err := os.ReadFile(s.statePath())
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

func (s *Server) writeState() error {
	b, _ := json.Marshal(state{Port: s.Port})
	if err := os.WriteFile(s.statePath(), b, 0o644); err != nil {
		return fmt.Errorf("pglocal: write state: %w", err)
	}
	return nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// EnvDir overrides the folder of the project's local server.
const EnvDir = "NOVAWH_PGDIR"

// DemoName is the name of the server `make demo` starts, the one commands
// use when no database is configured.
const DemoName = "demo"

// DefaultDir is where `novawh db` keeps the project's local server: a
// folder under the system temp dir named after the project checkout (see
// CheckoutRoot: the same from any folder of it), so that the postgres user
// can reach it even when the checkout is private. NOVAWH_PGDIR overrides it.
func DefaultDir(name string) string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return DirFor(name, CheckoutRoot(wd))
}

// DirFor is the local server folder of name for the checkout at root.
func DirFor(name, root string) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("novawh-pg-%s-%08x", name, fnv32(root)))
}

// Module is the Go module path whose go.mod marks a novawh checkout.
const Module = "github.com/novacorrente/novawh"

// CheckoutRoot is the novawh checkout dir is in: the nearest folder, dir
// or a parent, whose go.mod declares Module. Outside a checkout it is dir.
func CheckoutRoot(dir string) string {
	dir = filepath.Clean(dir)
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && modulePath(b) == Module {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Find returns the project's local server named name when its folder
// holds an initialised server that is running; found is false otherwise
// (nothing is started, and no PostgreSQL binaries are needed to tell that
// no server was ever created).
func Find(ctx context.Context, name string, log *slog.Logger) (s *Server, found bool) {
	dir := DefaultDir(name)
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err != nil {
		return nil, false
	}
	s, err := New(Options{Dir: dir, Logger: log})
	if err != nil || s.Port == 0 || !s.Running(ctx) {
		return nil, false
	}
	return s, true
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
