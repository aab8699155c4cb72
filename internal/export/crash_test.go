package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

func novawhExport(bin, url string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"export", "--database-url", url, "--log-file", ""}, args...)...)
	cmd.Env = append(os.Environ(), "NOVAWH_LOG_FILE=")
	return cmd
}

// layerView reads a published layer the way a reader does: a folder or a
// bucket prefix.
type layerView interface {
	read(rel string) ([]byte, error) // fs.ErrNotExist when absent
	list() ([]string, error)         // every object/file, relative
}

type dirView string

func (d dirView) read(rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(rel)))
}

func (d dirView) list() ([]string, error) {
	var out []string
	err := filepath.WalkDir(string(d), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(string(d), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

type bucketView struct {
	c      *minio.Client
	bucket string
	prefix string
}

func (b bucketView) read(rel string) ([]byte, error) {
	obj, err := b.c.GetObject(context.Background(), b.bucket, b.prefix+rel, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fs.ErrNotExist
	}
	return data, err
}

func (b bucketView) list() ([]string, error) {
	var out []string
	for o := range b.c.ListObjects(context.Background(), b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, o.Err
		}
		out = append(out, strings.TrimPrefix(o.Key, b.prefix))
	}
	return out, nil
}

// layerState is one consistent reading of a published layer: the layer
// manifest's sha256 and, per table, the last_change_id of the manifest it
// names. Every file named must exist with its manifest's sha256.
type layerState struct {
	sha     string
	changes map[string]int64
	named   map[string]bool // every path the manifests name
}

func readLayerState(v layerView) (layerState, error) {
	st := layerState{changes: map[string]int64{}, named: map[string]bool{ManifestName: true}}
	b, err := v.read(ManifestName)
	if err != nil {
		return st, err
	}
	st.sha = sha256Hex(b)
	lm, err := ParseLayerManifest(b, ManifestName)
	if err != nil {
		return st, err
	}
	for _, e := range lm.Tables {
		mb, err := v.read(e.Manifest)
		if err != nil {
			return st, fmt.Errorf("%s: %w", e.Manifest, err)
		}
		if sha256Hex(mb) != e.ManifestSHA256 {
			return st, fmt.Errorf("%s does not match the layer manifest", e.Manifest)
		}
		m, err := ParseManifest(mb, e.Manifest)
		if err != nil {
			return st, err
		}
		st.changes[e.Name] = m.LastChangeID
		st.named[e.Manifest] = true
		for _, f := range m.Files {
			p := e.Name + "/" + f.Path
			fb, err := v.read(p)
			if err != nil {
				return st, fmt.Errorf("%s: %w", p, err)
			}
			if sha256Hex(fb) != f.SHA256 {
				return st, fmt.Errorf("%s does not match its manifest", p)
			}
			st.named[p] = true
		}
	}
	return st, nil
}

// stableState reads the layer until two readings agree: a reader racing
// with a publish may read a manifest, then find the files of the next
// version; like any reader it retries, and only a lasting inconsistency
// fails.
func stableState(t testing.TB, v layerView) layerState {
	t.Helper()
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var st layerState
		if st, err = readLayerState(v); err == nil {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
	return layerState{}
}

// oneState fails unless every table of st is as in old, or every table is
// newer than in old: readers see one export, never a mix.
func oneState(t testing.TB, old, st layerState) {
	t.Helper()
	if st.sha == old.sha {
		return
	}
	for name, id := range st.changes {
		if id <= old.changes[name] {
			t.Fatalf("layer manifest %s mixes exports: %s is at change %d as before while others are new (%v, before %v)",
				st.sha[:12], name, id, st.changes, old.changes)
		}
	}
}

// crashSetup seeds gold, exports it once with cmd, and then changes every
// gold table (each gets a whole-table change), so that the next export
// rewrites all of them.
func crashSetup(t *testing.T, db *pgtest.DB, export func(args ...string) *exec.Cmd) {
	t.Helper()
	seedGold(t, db.Pool, seed{day0: day0, days: 90, items: 60, sites: 10})
	if out, err := export("--partition-by", "day").CombinedOutput(); err != nil {
		t.Fatalf("first export: %v\n%s", err, out)
	}
	execSQL(t, db, `UPDATE gold.fact_forecast SET forecast = forecast + 0.5`)
	execSQL(t, db, `UPDATE gold.agg_forecast_rolling SET forecast_avg_7d = forecast_avg_7d + 0.25`)
	execSQL(t, db, `UPDATE gold.dim_item SET name = name || ' v2'`)
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to)
		SELECT 'gold.' || table_name, NULL, NULL FROM information_schema.tables WHERE table_schema = 'gold'
		  AND (table_type = 'BASE TABLE' OR table_name = 'agg_forecast_rolling')`)
}

// killMidway starts cmd (a faultinject build) so that it pauses the n-th
// time a table of the new version is complete (fault point export.table,
// before the layer is published), watches the published layer meanwhile
// (every reading must be one state), checks ready (what the paused export
// has written), and kills the export with SIGKILL. The pause makes the
// moment of the kill independent of the machine's speed.
func killMidway(t *testing.T, cmd *exec.Cmd, v layerView, old layerState, tables int, ready func() bool) {
	t.Helper()
	point := "export.table"
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(slices.Clip(cmd.Env), fmt.Sprintf("NOVAWH_FAULT_PAUSE_AT=%s#%d", point, tables))
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Minute)
	for checks := 0; !strings.Contains(stderr.String(), "novawh-fault: paused at "+point); checks++ {
		select {
		case err := <-done:
			t.Fatalf("the export finished (%v) without pausing at %s#%d\n%s", err, point, tables, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the export never paused at %s#%d\n%s", point, tables, stderr.String())
		}
		if checks%10 == 0 {
			oneState(t, old, stableState(t, v))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !ready() {
		_ = cmd.Process.Kill()
		t.Fatalf("paused after %d tables, but their files are not where they should be", tables)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("export was not killed: %v", err)
	}
}

// TestCrashSafety kills `novawh export` (SIGKILL) after some of the
// rewritten tables are written but before the layer is published: readers
// see the previous export of every table the whole time and after the
// kill, and a re-run produces exactly what an uninterrupted export
// produces.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	bin := testbin.PathTags(t, testbin.TagFaultInject)
	db := pgtest.New(t)
	root := filepath.Join(t.TempDir(), "exports")
	export := func(args ...string) *exec.Cmd {
		return novawhExport(bin, db.URL, append([]string{"--to", root}, args...)...)
	}
	crashSetup(t, db, export)
	v := dirView(filepath.Join(root, "gold"))
	old := stableState(t, v)
	before := snapshotFiles(t, filepath.Join(root, "gold"))

	// Kill once a table of the new version is complete in the temporary
	// folder and another one is being written.
	killMidway(t, export("--partition-by", "day"), v, old, 2, func() bool {
		return tmpTables(root, SuccessName) >= 2 && tmpTables(root, ".parquet") >= 2
	})
	if st := stableState(t, v); st.sha != old.sha {
		t.Fatalf("the layer manifest changed although the export was killed before publishing: %v", st.changes)
	}
	sameFiles(t, before, snapshotFiles(t, filepath.Join(root, "gold")), nil)

	// Re-run, and export the same data uninterrupted into a fresh folder.
	out, err := export("--partition-by", "day", "--json").Output()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	for _, tr := range res.Tables {
		if tr.Mode != "full" || tr.Reason != "a refresh rewrote the whole table" {
			t.Fatalf("re-run %s: %+v", tr.Table, tr)
		}
	}
	oneState(t, old, stableState(t, v))
	fresh := filepath.Join(t.TempDir(), "exports")
	if out, err := novawhExport(bin, db.URL, "--to", fresh, "--partition-by", "day").CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted export: %v\n%s", err, out)
	}
	got, want := snapshotFiles(t, filepath.Join(root, "gold")), snapshotFiles(t, filepath.Join(fresh, "gold"))
	if len(got) != len(want) {
		t.Fatalf("%d files after the re-run, %d in an uninterrupted export", len(got), len(want))
	}
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Fatalf("%s missing after the re-run", p)
		case strings.HasSuffix(p, ManifestName):
			if a, b := manifestWithoutTime(t, filepath.Join(root, "gold", p)), manifestWithoutTime(t, filepath.Join(fresh, "gold", p)); a != b {
				t.Fatalf("%s differs:\n%s\n%s", p, a, b)
			}
		case g.sha != w.sha:
			t.Fatalf("%s differs after the re-run", p)
		}
	}
	if _, err := os.Stat(filepath.Join(root, tmpDirName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the temporary folder is left: %v", err)
	}
	var interrupted int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM meta.export_runs WHERE status = 'failed' AND error LIKE 'interrupted%'`).Scan(&interrupted); err != nil {
		t.Fatal(err)
	}
	if interrupted != 1 {
		t.Fatalf("%d runs marked interrupted, want 1", interrupted)
	}
	verifyExport(t, db.Pool, root, "day")
}

// TestCrashSafetyMinIO is TestCrashSafety against a real MinIO: the kill
// comes once new parts and the manifests of some tables are uploaded; the
// layer manifest still names the previous export, whose objects are all
// there; the re-run publishes the new export and deletes every object no
// manifest names.
func TestCrashSafetyMinIO(t *testing.T) {
	t.Parallel()
	srv := startMinio(t)
	bin := testbin.PathTags(t, testbin.TagFaultInject)
	db := pgtest.New(t)
	env := append(os.Environ(), "NOVAWH_LOG_FILE=", "AWS_ENDPOINT_URL="+srv.endpoint, "AWS_ACCESS_KEY_ID="+srv.user,
		"AWS_SECRET_ACCESS_KEY="+srv.secret, "AWS_REGION=us-east-1", "TMPDIR="+t.TempDir())
	export := func(args ...string) *exec.Cmd {
		cmd := novawhExport(bin, db.URL, append([]string{"--to", "s3://nova-lake/crash"}, args...)...)
		cmd.Env = env
		return cmd
	}
	crashSetup(t, db, export)
	c := srv.client(t)
	v := bucketView{c: c, bucket: "nova-lake", prefix: "crash/gold/"}
	old := stableState(t, v)
	oldObjects, err := v.list()
	if err != nil {
		t.Fatal(err)
	}
	newManifests := func() int {
		objs, err := v.list()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range objs {
			if strings.Contains(o, "/_manifests/") && !old.named[o] {
				n++
			}
		}
		return n
	}
	killMidway(t, export("--partition-by", "day"), v, old, 2, func() bool { return newManifests() >= 2 })
	if st := stableState(t, v); st.sha != old.sha {
		t.Fatalf("the layer manifest changed although the export was killed before publishing: %v", st.changes)
	}
	for _, o := range oldObjects {
		if _, err := v.read(o); err != nil && !strings.HasSuffix(o, SuccessName) {
			t.Fatalf("%s of the previous export: %v", o, err)
		}
	}

	if out, err := export("--partition-by", "day").CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	st := stableState(t, v)
	oneState(t, old, st)
	if st.sha == old.sha {
		t.Fatal("the re-run did not publish")
	}
	// Only what the manifests name is left, plus each table's
	// _manifest.json copy and _SUCCESS.
	objs, err := v.list()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		base := o[strings.LastIndex(o, "/")+1:]
		if !st.named[o] && base != ManifestName && base != SuccessName {
			t.Fatalf("%s is left although no manifest names it", o)
		}
	}
	dir := t.TempDir()
	download(t, c, "nova-lake", "crash/", dir)
	for name := range st.changes {
		if _, err := os.Stat(filepath.Join(dir, "gold", name, SuccessName)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a, b := readFileManifest(t, dir, "gold", name), readLayerTable(t, dir, "gold", name); a.RunID != b.RunID || a.Rows != b.Rows {
			t.Fatalf("%s/_manifest.json is not the manifest the layer names", name)
		}
	}
	verifyExport(t, db.Pool, dir, "day")
}

// tmpTables counts the tables of a layer version being built in the
// temporary folder that hold a file whose name ends with suffix.
func tmpTables(root, suffix string) int {
	n := 0
	versions, _ := os.ReadDir(filepath.Join(root, tmpDirName))
	for _, ver := range versions {
		if !ver.IsDir() || !strings.HasPrefix(ver.Name(), "gold.") {
			continue
		}
		tables, _ := os.ReadDir(filepath.Join(root, tmpDirName, ver.Name()))
		for _, tb := range tables {
			found := false
			_ = filepath.WalkDir(filepath.Join(root, tmpDirName, ver.Name(), tb.Name()), func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), suffix) {
					found = true
					return fs.SkipAll
				}
				return nil
			})
			if found {
				n++
			}
		}
	}
	return n
}

// manifestWithoutTime renders a manifest without what differs between two
// exports of the same data: export times and run ids.
func manifestWithoutTime(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "exported_at")
	delete(m, "run_id")
	// Layer manifests: the same for every table entry.
	if tables, ok := m["tables"].([]any); ok {
		for _, e := range tables {
			delete(e.(map[string]any), "exported_at")
			delete(e.(map[string]any), "run_id")
			delete(e.(map[string]any), "manifest_sha256")
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}
