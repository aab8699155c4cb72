package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/novacorrente/novawh/internal/pglocal"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// minioBinary finds the MinIO server: $NOVAWH_MINIO_BIN, else minio on
// PATH, else $(go env GOPATH)/bin/minio.
func minioBinary() string {
	if p := os.Getenv("NOVAWH_MINIO_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "minio")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

type minioServer struct {
	endpoint string
	user     string
	secret   string
	cmd      *exec.Cmd
	done     chan struct{}
	out      *lockedBuffer
}

// startMinio runs a real MinIO server on 127.0.0.1 with a temporary data
// folder; it is stopped (by its own PID) when the test ends.
func startMinio(t *testing.T) *minioServer {
	t.Helper()
	bin := minioBinary()
	if bin == "" {
		msg := "no minio binary (set NOVAWH_MINIO_BIN, put minio on PATH, or go install github.com/minio/minio@" + minioVersion + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cport, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &minioServer{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), user: "novawh-test", secret: "s3cr3t-" + fmt.Sprint(time.Now().UnixNano()),
		done: make(chan struct{}), out: &lockedBuffer{}}
	s.cmd = exec.Command(bin, "server", t.TempDir(), "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port), "--console-address", fmt.Sprintf("127.0.0.1:%d", cport))
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.user, "MINIO_ROOT_PASSWORD="+s.secret, "MINIO_BROWSER=off",
		"MINIO_UPDATE=off", "HOME="+t.TempDir())
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			t.Fatalf("minio exited: %s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not ready after 60 s: %v %s", err, s.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *minioServer) config(t *testing.T) *S3Config {
	return &S3Config{Endpoint: s.endpoint, Region: "us-east-1", AccessKeyID: s.user, SecretAccessKey: s.secret, TempDir: t.TempDir()}
}

func (s *minioServer) client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s.user, s.secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// download mirrors bucket/prefix into a local folder and returns the
// objects' ETags by path.
func download(t *testing.T, c *minio.Client, bucket, prefix, dir string) map[string]string {
	t.Helper()
	ctx := context.Background()
	etags := map[string]string{}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		rel := strings.TrimPrefix(o.Key, prefix)
		etags[rel] = o.ETag + "@" + o.LastModified.String()
		obj, err := c.GetObject(ctx, bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return etags
}

func TestMinIO(t *testing.T) {
	t.Parallel()
	srv := startMinio(t)
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 6, items: 4, sites: 3})
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ex := New(db.Pool, testRegistry(t), log)
	ctx := context.Background()
	cfg := srv.config(t)
	to := "s3://nova-gold/warehouse/v1"

	res, err := ex.Run(ctx, Options{To: to, S3: cfg, PartitionBy: "day"})
	if err != nil {
		t.Fatalf("export to MinIO: %v\n%s", err, logs.String())
	}
	if res.Target != to {
		t.Fatalf("target %q", res.Target)
	}
	if tr := tableResult(t, res, "gold.fact_forecast"); !strings.HasPrefix(tr.Manifest, "s3://nova-gold/warehouse/v1/gold/fact_forecast/_manifests/") ||
		tr.Mode != "full" || tr.Glob != "s3://nova-gold/warehouse/v1/gold/fact_forecast/**/*.parquet" {
		t.Fatalf("fact_forecast: %+v", tr)
	}
	if len(res.Layers) != 1 || res.Layers[0].Manifest != "s3://nova-gold/warehouse/v1/gold/_manifest.json" || !res.Layers[0].Published {
		t.Fatalf("layers: %+v", res.Layers)
	}
	c := srv.client(t)
	dir := t.TempDir()
	first := download(t, c, "nova-gold", "warehouse/v1/", dir)
	verifyExport(t, db.Pool, dir, "day")

	// Incremental: one changed day gets a new part name; the old part is
	// deleted after the manifest; every other object is untouched.
	d3 := day0.AddDate(0, 0, 3).Format(time.DateOnly)
	execSQL(t, db, `UPDATE gold.fact_forecast SET actual = 1 WHERE date = $1`, d3)
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES ('gold.fact_forecast', $1, $1)`, d3)
	res, err = ex.Run(ctx, Options{To: to, S3: cfg, PartitionBy: "day"})
	if err != nil {
		t.Fatal(err)
	}
	// gold.agg_forecast_rolling, a view of fact_forecast's rows, changes with it.
	rolling := []string{"fact_forecast", "agg_forecast_rolling"}
	for _, tbl := range rolling {
		if tr := tableResult(t, res, "gold."+tbl); tr.Mode != "incremental" || tr.FilesWritten != 1 || tr.FilesRemoved != 1 || tr.FilesKept != 5 {
			t.Fatalf("%s: %+v", tbl, tr)
		}
	}
	dir2 := t.TempDir()
	second := download(t, c, "nova-gold", "warehouse/v1/", dir2)
	rewritten := func(p string) bool {
		for _, tbl := range rolling {
			if p == "gold/"+tbl+"/date="+d3+"/part-00000.parquet" || strings.HasPrefix(p, "gold/"+tbl+"/_manifest") ||
				p == "gold/"+tbl+"/"+SuccessName {
				return true
			}
		}
		return p == "gold/"+ManifestName
	}
	for _, tbl := range rolling {
		oldPart := "gold/" + tbl + "/date=" + d3 + "/part-00000.parquet"
		newPart := "gold/" + tbl + "/date=" + d3 + "/part-00001.parquet"
		if _, ok := second[oldPart]; ok {
			t.Fatalf("%s still listed after the new manifest", oldPart)
		}
		if _, ok := second[newPart]; !ok {
			t.Fatalf("%s missing", newPart)
		}
	}
	for p, etag := range first {
		if !rewritten(p) && second[p] != etag {
			t.Fatalf("%s was rewritten", p)
		}
	}
	for p := range second {
		if _, ok := first[p]; ok {
			continue
		}
		expected := false
		for _, tbl := range rolling {
			expected = expected || p == "gold/"+tbl+"/date="+d3+"/part-00001.parquet" || strings.HasPrefix(p, "gold/"+tbl+"/_manifests/")
		}
		if !expected {
			t.Fatalf("unexpected new object %s", p)
		}
	}
	verifyExport(t, db.Pool, dir2, "day")

	// s3:// alone uses one bucket per layer, created on first use, with
	// the layer's tables at its root; names are configurable.
	res, err = ex.Run(ctx, Options{To: "s3://", Tables: []string{"dim_site"}, S3: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != "s3://nova-bronze,nova-silver,nova-gold" || res.Layers[0].Manifest != "s3://nova-gold/_manifest.json" {
		t.Fatalf("s3:// export: %+v", res)
	}
	for _, key := range []string{ManifestName, "dim_site/" + ManifestName, "dim_site/" + SuccessName} {
		if _, err := c.StatObject(ctx, "nova-gold", key, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("s3:// export: %s: %v", key, err)
		}
	}
	if _, err := ex.Run(ctx, Options{To: "s3://", Tables: []string{"dim_site"}, S3: cfg,
		Buckets: map[string]string{"gold": "nova-corrente-gold"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, "nova-corrente-gold", "dim_site/"+ManifestName, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("--bucket gold=nova-corrente-gold: %v", err)
	}
	if strings.Contains(logs.String(), srv.secret) {
		t.Fatal("the S3 secret key appears in the logs")
	}

	// Wrong credentials fail with a clear error and publish nothing.
	bad := *cfg
	bad.SecretAccessKey = "wrong"
	_, err = ex.Run(ctx, Options{To: "s3://nova-gold/other", S3: &bad})
	if err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad credentials: %v", err)
	}
}

// minioVersion is the MinIO server the tests are run against in CI
// (go install github.com/minio/minio@minioVersion builds with Go 1.26).
const minioVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"
