package fault

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"
	"gopkg.in/yaml.v3"

	"github.com/novacorrente/novawh/internal/export"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

var binPath string

func TestMain(m *testing.M) {
	var err error
	if binPath, err = testbin.BuildTags(testbin.TagFaultInject); err != nil {
		fmt.Fprintln(os.Stderr, "fault tests:", err)
		testbin.Cleanup()
		os.Exit(1)
	}
	code := pgtest.Run(m)
	testbin.Cleanup()
	os.Exit(code)
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// ML metadata the generated ML files lack (given through run.inputs).
var mlMeta = map[string]string{
	"model_version": "prophet-arima-xgb-1.4", "generated_at": "2025-11-11T03:00:00Z",
	"ml_source": "nova-ml-batch", "dataset_id": "fault-fixture-1",
}

// workdir is one job's working directory: config, inbound files, exports.
type workdir struct {
	Dir    string
	Config string
	Export string
}

// newWorkdir writes small inputs with the shapes of the real files (ERP
// requisitions with Portuguese headers, per-item/site forecast CSVs named
// item<ITEM>_site<SITE>.csv, inventory prescriptions) and a config whose
// run: section lists them. extra lets a test add files.
func newWorkdir(t *testing.T, extra func(dir string)) *workdir {
	t.Helper()
	dir := t.TempDir()
	w := &workdir{Dir: dir, Config: filepath.Join(dir, "novawh.yaml"), Export: filepath.Join(dir, "exports")}
	items := []struct{ key, code, familia, material string }{
		{"ABRASIVOS_BATERIA 9V", "010463", "ABRASIVOS", "BATERIA 9V"},
		{"ABRASIVOS_DESENGRIPANTE SPRAY", "010825", "ABRASIVOS", "DESENGRIPANTE SPRAY"},
		{"FERRAGENS_PARAFUSO M8", "020114", "FERRAGENS", "PARAFUSO M8"},
	}
	sites := []struct{ id, dep string }{{"176", "STC"}, {"22", "FSA"}}
	start := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// ERP demand: two monthly exports.
	for m := 0; m < 2; m++ {
		var b strings.Builder
		b.WriteString("DEPÓSITO,PRODUTO/SERVIÇO,MATERIAL,FAMÍLIA,NOME FORNEC.,QUANTIDADE,U.M.,DATA REQUISITADA,SOLICITAÇÃO,DATA SOLICITADO,DATA DE COMPRA\n")
		for d := 0; d < 30; d++ {
			day := start.AddDate(0, m, d)
			for i, it := range items {
				if (d+i)%3 == 0 {
					continue
				}
				site := sites[(d+i)%2]
				dep := site.dep
				if d%11 == 0 {
					dep = "" // blank depot cells, as in the real export
				}
				fmt.Fprintf(&b, "%s,%s,%s,%s,\"FORNECEDOR \"\"%d\"\" LTDA\",%d,UN,%s,%d,%s,%s\n", dep, it.code, it.material, it.familia,
					i, 1+(d*7+i*3)%9, day.Format("02/01/2006"), 5000+m*100+d, day.Format("02/01/2006"), day.AddDate(0, 0, 3).Format("02/01/2006"))
			}
		}
		write(fmt.Sprintf("inbound/erp_requisitions/requisicoes_2025_%02d.csv", 9+m), b.String())
	}
	// Forecasts: one file per item and site, 45 days.
	for i, it := range items {
		for j, s := range sites {
			var b strings.Builder
			b.WriteString("ds,forecast,lower,upper,arima_forecast,xgboost_forecast\n")
			for d := 0; d < 45; d++ {
				f := float64(2+(d*3+i*5+j)%7) + 0.25
				fmt.Fprintf(&b, "%s,%.2f,%.2f,%.2f,%.2f,%.2f\n", start.AddDate(0, 0, 10+d).Format("2006-01-02"), f, f*0.7, f*1.3, f*0.95, f*1.05)
			}
			write(fmt.Sprintf("inbound/ml_forecasts/item%s_site%s.csv", strings.ReplaceAll(it.key, " ", "_"), s.id), b.String())
		}
	}
	// Inventory prescriptions (no date column: the as_of is generated_at's date).
	var b strings.Builder
	b.WriteString("item_id,site_id,deposito,current_stock,safety_stock,reorder_point,avg_daily_demand,lead_time_days,days_to_rupture,stock_status\n")
	for i, it := range items {
		for j, s := range sites {
			fmt.Fprintf(&b, "%s,%s,%s,%d,%d,%d,%.1f,%d,%.1f,%s\n", it.key, s.id, s.dep, 20+i*7+j, 10, 15, 1.5+float64(i), 7, float64(20+i*7+j)/(1.5+float64(i)), "ok")
		}
	}
	write("inbound/inventory/prescriptions.csv", b.String())
	if extra != nil {
		extra(dir)
	}
	writeConfig(t, w.Config, []map[string]any{
		{"source": "erp_requisitions", "paths": []string{"inbound/erp_requisitions"}},
		withMeta(map[string]any{"source": "ml_forecasts", "paths": []string{"inbound/ml_forecasts"}}),
		withMeta(map[string]any{"source": "inventory", "paths": []string{"inbound/inventory"}}),
	})
	return w
}

func withMeta(m map[string]any) map[string]any {
	for k, v := range mlMeta {
		m[k] = v
	}
	return m
}

// writeConfig copies the project's novawh.yaml with its run: section
// replaced (offline pulls, the given inputs).
func writeConfig(t *testing.T, path string, inputs []map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "novawh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	runSection := map[string]any{
		"inputs": inputs,
		"pull":   map[string]any{"offline": true},
		"alert":  map[string]any{"attempts": 3, "backoff": "10ms"},
	}
	var rn yaml.Node
	if err := rn.Encode(runSection); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	found := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "run" {
			top.Content[i+1] = &rn
			found = true
		}
	}
	if !found {
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "run"}, &rn)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// proc is a running novawh.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	stdout bytes.Buffer
	paused chan string
	done   chan struct{}
	code   int
}

func (p *proc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// start launches novawh (built with the fault hooks) in w.Dir with args;
// env adds variables.
func start(t *testing.T, w *workdir, dbURL string, env []string, args ...string) *proc {
	t.Helper()
	return startBin(t, binPath, w, dbURL, env, args...)
}

// startBin is start with the binary bin.
func startBin(t *testing.T, bin string, w *workdir, dbURL string, env []string, args ...string) *proc {
	t.Helper()
	full := append([]string{"--log-file", ""}, args...)
	if len(args) > 0 && args[0] == "run" {
		full = append(full, "--config", w.Config)
	}
	cmd := exec.Command(bin, full...)
	cmd.Dir = w.Dir
	cmd.Env = append(cleanEnv(), "DATABASE_URL="+dbURL)
	cmd.Env = append(cmd.Env, env...)
	p := &proc{cmd: cmd, paused: make(chan string, 4), done: make(chan struct{})}
	cmd.Stdout = &lockedWriter{p: p, b: &p.stdout}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "novawh-fault: paused at "); ok {
				p.paused <- strings.Fields(rest)[0]
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == -1 {
			p.code = -9 // killed by a signal
		}
		close(p.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	return p
}

type lockedWriter struct {
	p *proc
	b *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.b.Write(b)
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DATABASE_URL", k == "NOVAWH_ALERT_WEBHOOK", k == "NOVAWH_LOG_FILE", strings.HasPrefix(k, "NOVAWH_FAULT_"), strings.HasPrefix(k, "PG"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitPaused waits for the fault hook's pause line.
func (p *proc) waitPaused(t *testing.T, point string) {
	t.Helper()
	select {
	case got := <-p.paused:
		if got != point {
			t.Fatalf("paused at %s, want %s", got, point)
		}
	case <-p.done:
		t.Fatalf("exited (%d) before pausing at %s; stderr:\n%s", p.code, point, p.Stderr())
	case <-time.After(90 * time.Second):
		t.Fatalf("never paused at %s; stderr:\n%s", point, p.Stderr())
	}
}

// wait waits for the exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(3 * time.Minute):
		t.Fatalf("novawh did not finish; stderr:\n%s", p.Stderr())
		return 0
	}
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) resume() { _ = p.cmd.Process.Signal(syscall.SIGUSR1) }

// runOK runs novawh to completion and wants exit code 0.
func runOK(t *testing.T, w *workdir, dbURL string, args ...string) *proc {
	t.Helper()
	p := start(t, w, dbURL, nil, append([]string{"run"}, args...)...)
	if code := p.wait(t); code != 0 {
		t.Fatalf("novawh run: exit %d; stdout:\n%s\nstderr:\n%s", code, p.stdout.String(), p.Stderr())
	}
	return p
}

// volatile columns: when a refresh wrote a row, and load ids (a killed
// load consumes sequence values, so ids differ between databases).
var volatile = map[string]bool{"created_at": true, "updated_at": true, "refreshed_at": true, "load_id": true, "_load_id": true, "exported_at": true}

// goldSums is count + md5 of the ordered rows of every gold table and
// materialized view, without the volatile columns.
func goldSums(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	return layerSums(t, ctx, pool, "gold", false)
}

func layerSums(t *testing.T, ctx context.Context, pool *pgxpool.Pool, schema string, countOnly bool) map[string]string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
		GROUP BY c.relname ORDER BY c.relname`, schema)
	if err != nil {
		t.Fatal(err)
	}
	type rel struct {
		name string
		cols []string
	}
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
		var x rel
		err := r.Scan(&x.name, &x.cols)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rels {
		var keep []string
		for _, c := range r.cols {
			if !volatile[c] {
				keep = append(keep, pgx.Identifier{c}.Sanitize())
			}
		}
		id := pgx.Identifier{schema, r.name}.Sanitize()
		q := fmt.Sprintf(`SELECT count(*)::text || ':' || md5(coalesce(string_agg(t, E'\n' ORDER BY t), '')) FROM (SELECT ROW(%s)::text AS t FROM %s) s`, strings.Join(keep, ", "), id)
		if countOnly {
			q = "SELECT count(*)::text FROM " + id
		}
		var sum string
		if err := pool.QueryRow(ctx, q).Scan(&sum); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		out[schema+"."+r.name] = sum
	}
	return out
}

// exportSums describes an export folder: per table, the manifest's file
// list (path, partition, rows) and a hash of every row read back from the
// Parquet files (volatile columns left out), plus the list of all files.
func exportSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var all []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			all = append(all, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(all)
	out["(files)"] = strings.Join(all, "\n")
	for _, rel := range all {
		if filepath.Base(rel) != export.ManifestName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if export.IsLayerManifest(b) {
			continue // the layer's manifest: it names the table manifests read here
		}
		m, err := export.ParseManifest(b, rel)
		if err != nil {
			t.Fatal(err)
		}
		var desc []string
		var rowHashes []string
		for _, f := range m.Files {
			desc = append(desc, fmt.Sprintf("%s %s %d", f.Path, f.Partition, f.Rows))
			p := filepath.Join(dir, filepath.Dir(rel), f.Path)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("manifest %s lists %s: %v", rel, f.Path, err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
				t.Fatalf("%s: sha256 does not match its manifest", p)
			}
			rowHashes = append(rowHashes, parquetRows(t, p, data)...)
		}
		sort.Strings(rowHashes)
		h := sha256.Sum256([]byte(strings.Join(rowHashes, "\n")))
		out[m.Table] = fmt.Sprintf("rows=%d schema=%s files=[%s] data=%x", m.Rows, m.SchemaSHA256, strings.Join(desc, "; "), h[:8])
	}
	return out
}

// parquetRows renders every row of a Parquet file as text, without the
// volatile columns.
func parquetRows(t *testing.T, name string, data []byte) []string {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var names []string
	for _, path := range f.Schema().Columns() {
		names = append(names, strings.Join(path, "."))
	}
	r := parquet.NewReader(f)
	defer r.Close()
	var out []string
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			var parts []string
			for _, v := range row {
				c := v.Column()
				if c >= 0 && c < len(names) && volatile[names[c]] {
					continue
				}
				parts = append(parts, names[c]+"="+v.String())
			}
			out = append(out, strings.Join(parts, "|"))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out
}

func diffMaps(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if want[k] != got[k] {
			t.Errorf("%s %s differs from the uninterrupted run:\n  want %q\n  got  %q", what, k, want[k], got[k])
		}
	}
}

// reference is the uninterrupted run every fault test compares with.
type reference struct {
	gold, export, bronze map[string]string
}

var (
	refOnce sync.Once
	ref     reference
	refErr  string
)

func getReference(t *testing.T) reference {
	t.Helper()
	refOnce.Do(func() {
		refErr = "the uninterrupted reference run failed (see the first test that ran it)"
		ctx := context.Background()
		db, err := pgtest.NewE(ctx)
		if err != nil {
			refErr = err.Error()
			return
		}
		defer db.Drop(ctx)
		w := newWorkdir(t, nil)
		runOK(t, w, db.URL)
		ref = reference{gold: goldSums(t, ctx, db.Pool), export: exportSums(t, w.Export), bronze: layerSums(t, ctx, db.Pool, "bronze", true)}
		refErr = ""
		if n, _ := countOf(ref.gold["gold.fact_forecast"]); n == 0 {
			refErr = "the reference run produced an empty gold.fact_forecast: " + ref.gold["gold.fact_forecast"]
		}
	})
	if refErr != "" {
		t.Fatal(refErr)
	}
	return ref
}

func countOf(sum string) (int, error) {
	n := 0
	_, err := fmt.Sscanf(sum, "%d:", &n)
	return n, err
}

// compare checks a database and export folder against the reference.
func compare(t *testing.T, ctx context.Context, pool *pgxpool.Pool, exportDir string) {
	t.Helper()
	r := getReference(t)
	diffMaps(t, "gold table", r.gold, goldSums(t, ctx, pool))
	diffMaps(t, "bronze row count", r.bronze, layerSums(t, ctx, pool, "bronze", true))
	if exportDir != "" {
		diffMaps(t, "export", r.export, exportSums(t, exportDir))
	}
	// Every input is loaded exactly once.
	var dup int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT source, file_sha256 FROM meta.loads WHERE status = 'loaded'
		GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Errorf("%d inputs loaded more than once (%v)", dup, err)
	}
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
