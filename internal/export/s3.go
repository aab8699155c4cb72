package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// S3Config says how to reach S3 or MinIO. S3ConfigFromEnv fills it from the
// standard AWS_* variables.
type S3Config struct {
	// Endpoint is a URL (http://127.0.0.1:9000) or host[:port]; empty means
	// AWS S3 (s3.amazonaws.com).
	Endpoint string
	Region   string
	// AccessKeyID and SecretAccessKey (and SessionToken) are static
	// credentials; when empty, ~/.aws/credentials and then the instance
	// role (IAM) are tried.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// TempDir holds each Parquet file while it is written, before upload
	// (default: the system temp dir).
	TempDir string
}

// S3ConfigFromEnv reads AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
// AWS_REGION or AWS_DEFAULT_REGION (default us-east-1), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
func S3ConfigFromEnv() S3Config {
	c := S3Config{
		Endpoint:        firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:          firstEnv("AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
	}
	return c
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

type s3Options struct {
	cfg *S3Config
	// buckets names the bucket of each layer when the target is s3://
	// alone (default nova-<layer>).
	buckets map[string]string
	// tags are set on the data objects of each layer (the lifecycle rule of
	// the bronze bucket selects its objects by tag).
	tags map[string]map[string]string
}

type s3Target struct {
	client  *minio.Client
	bucket  string // "": one bucket per layer
	prefix  string
	buckets map[string]string
	tags    map[string]map[string]string
	tempDir string
	region  string

	mu      sync.Mutex
	checked map[string]bool
}

func newS3Client(opt s3Options) (*minio.Client, S3Config, error) {
	cfg := S3ConfigFromEnv()
	if opt.cfg != nil {
		cfg = *opt.cfg
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	host, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		if strings.Contains(cfg.Endpoint, "://") {
			u, err := url.Parse(cfg.Endpoint)
			if err != nil || u.Host == "" {
				return nil, cfg, fmt.Errorf("S3 endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
			}
			host, secure = u.Host, u.Scheme != "http"
		} else {
			host = cfg.Endpoint
		}
	}
	var creds *credentials.Credentials
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	client, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: cfg.Region})
	if err != nil {
		return nil, cfg, fmt.Errorf("S3 client for %s: %w", host, err)
	}
	return client, cfg, nil
}

func newS3Target(_ context.Context, bucket, prefix string, opt s3Options) (*s3Target, error) {
	client, cfg, err := newS3Client(opt)
	if err != nil {
		return nil, err
	}
	return &s3Target{client: client, bucket: bucket, prefix: prefix, buckets: opt.buckets, tags: opt.tags,
		tempDir: cfg.TempDir, region: cfg.Region, checked: map[string]bool{}}, nil
}

// BucketFor is the bucket of layer when the target is s3:// alone:
// buckets[layer], else nova-<layer>.
func BucketFor(buckets map[string]string, layer string) string {
	if b := buckets[layer]; b != "" {
		return b
	}
	return "nova-" + layer
}

func (s *s3Target) bucketFor(layer string) string {
	if s.bucket != "" {
		return s.bucket
	}
	return BucketFor(s.buckets, layer)
}

func (s *s3Target) String() string {
	if s.bucket == "" {
		names := make([]string, len(Layers))
		for i, l := range Layers {
			names[i] = s.bucketFor(l)
		}
		return "s3://" + strings.Join(names, ",")
	}
	return strings.TrimSuffix("s3://"+s.bucket+"/"+s.prefix, "/")
}

func (s *s3Target) Close() error { return nil }

// TempDir is a folder of its own per target, under S3Config.TempDir or the
// system temp dir: Prepare empties what a killed run left there.
func (s *s3Target) TempDir() string {
	base := s.tempDir
	if base == "" {
		base = os.TempDir()
	}
	return filepath.Join(base, "novawh-export-"+sha256Hex([]byte(s.String()))[:12])
}

func (s *s3Target) Prepare(context.Context) error {
	if err := os.RemoveAll(s.TempDir()); err != nil {
		return fmt.Errorf("export: remove what an interrupted export left in %s: %w", s.TempDir(), err)
	}
	return os.MkdirAll(s.TempDir(), 0o700)
}

func (s *s3Target) Finish() error {
	if err := os.RemoveAll(s.TempDir()); err != nil {
		return fmt.Errorf("export: remove %s: %w", s.TempDir(), err)
	}
	return nil
}

// EnsureBucket creates bucket when it does not exist yet.
func ensureBucket(ctx context.Context, c *minio.Client, bucket, region string) error {
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("S3 bucket %s: %w", bucket, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			// Another run may have created it in the meantime.
			if ok, e := c.BucketExists(ctx, bucket); e != nil || !ok {
				return fmt.Errorf("create S3 bucket %s: %w", bucket, err)
			}
		}
	}
	return nil
}

func (s *s3Target) Layer(ctx context.Context, layer string) (layerRoot, error) {
	b := s.bucketFor(layer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.checked[b] {
		if err := ensureBucket(ctx, s.client, b, s.region); err != nil {
			return nil, err
		}
		s.checked[b] = true
	}
	key := ""
	if s.bucket != "" {
		key = strings.TrimPrefix(path.Join(s.prefix, layer)+"/", "/")
	}
	return &s3Layer{t: s, bucket: b, key: key, tags: s.tags[layer]}, nil
}

// s3Layer is a bucket, or a prefix of one, holding one layer. Objects are
// never overwritten while a layer manifest names them: a new version of a
// table gets part files and a table manifest under fresh names, the layer
// manifest is replaced in one PUT (atomic), then the objects no manifest
// names are deleted.
type s3Layer struct {
	t      *s3Target
	bucket string
	key    string // "" or ending with "/"
	tags   map[string]string
}

func (l *s3Layer) String() string { return strings.TrimSuffix("s3://"+l.bucket+"/"+l.key, "/") }

func (l *s3Layer) Location(rel string) string { return "s3://" + l.bucket + "/" + l.key + rel }

func (l *s3Layer) Read(ctx context.Context, rel string) ([]byte, error) {
	obj, err := l.t.client.GetObject(ctx, l.bucket, l.key+rel, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.Location(rel), err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", l.Location(rel), err)
	}
	return b, nil
}

func (l *s3Layer) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	obj, err := l.t.client.GetObject(ctx, l.bucket, l.key+rel, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.Location(rel), err)
	}
	return obj, nil
}

func (l *s3Layer) put(ctx context.Context, rel string, b []byte, contentType string) error {
	_, err := l.t.client.PutObject(ctx, l.bucket, l.key+rel, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("upload %s: %w", l.Location(rel), err)
	}
	return nil
}

func (l *s3Layer) Begin(context.Context) (layerTx, error) { return &s3LayerTx{l: l}, nil }

// Repair deletes, in the folder of every table the layer manifest names,
// the objects its manifest does not name (parts and manifests of older or
// interrupted runs), makes _manifest.json the named manifest and writes
// _SUCCESS when missing. Objects outside the tables' folders are not
// touched.
func (l *s3Layer) Repair(ctx context.Context, tables []publishedTable) error {
	var errs []error
	for _, pt := range tables {
		if err := l.repairTable(ctx, pt); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *s3Layer) repairTable(ctx context.Context, pt publishedTable) error {
	dir := pt.entry.Name + "/"
	named := map[string]bool{pt.entry.Manifest: true, dir + ManifestName: true, dir + SuccessName: true}
	for _, f := range pt.manifest.Files {
		named[dir+f.Path] = true
	}
	prefix := l.key + dir
	stale := make(chan minio.ObjectInfo)
	listErr := make(chan error, 1)
	success := false
	go func() {
		defer close(stale)
		for o := range l.t.client.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				listErr <- o.Err
				return
			}
			rel := strings.TrimPrefix(o.Key, l.key)
			if rel == dir+SuccessName {
				success = true
			}
			if named[rel] {
				continue
			}
			select {
			case stale <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []error
	for e := range l.t.client.RemoveObjects(ctx, l.bucket, stale, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("delete s3://%s/%s: %w", l.bucket, e.ObjectName, e.Err))
	}
	select {
	case err := <-listErr:
		return errors.Join(append(errs, fmt.Errorf("list s3://%s/%s: %w", l.bucket, prefix, err))...)
	default:
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if pt.entry.Manifest != dir+ManifestName {
		cur, err := l.Read(ctx, dir+ManifestName)
		if err != nil {
			return err
		}
		if sha256Hex(cur) != pt.entry.ManifestSHA256 {
			if err := l.put(ctx, dir+ManifestName, pt.raw, "application/json"); err != nil {
				return err
			}
		}
	}
	if !success {
		return l.put(ctx, dir+SuccessName, nil, "application/octet-stream")
	}
	return nil
}

type s3LayerTx struct {
	l *s3Layer
}

// Table removes the table's _SUCCESS marker first: until the folder holds
// one version again (after the layer manifest and the clean-up), it may
// hold the parts of two.
func (t *s3LayerTx) Table(ctx context.Context, name string, base *Manifest) (tableTx, error) {
	if err := t.l.t.client.RemoveObject(ctx, t.l.bucket, t.l.key+name+"/"+SuccessName, minio.RemoveObjectOptions{}); err != nil &&
		minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return nil, fmt.Errorf("delete %s: %w", t.l.Location(name+"/"+SuccessName), err)
	}
	next := map[string]int{}
	if base != nil {
		for _, f := range base.Files {
			dir, file := path.Split(f.Path)
			dir = strings.TrimSuffix(dir, "/")
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(file, "part-"), ".parquet"))
			if err == nil && n+1 > next[dir] {
				next[dir] = n + 1
			}
		}
	}
	return &s3TableTx{l: t.l, name: name, next: next}, nil
}

// Commit replaces the layer manifest (one PUT: readers see the old or the
// new one), then cleans the rewritten tables' folders.
func (t *s3LayerTx) Commit(ctx context.Context, layerManifest []byte, rewritten []publishedTable) error {
	if err := t.l.put(ctx, ManifestName, layerManifest, "application/json"); err != nil {
		return err
	}
	return t.l.Repair(ctx, rewritten)
}

// Abort leaves uploaded objects in place: no manifest names them and the
// next run's clean-up deletes them.
func (t *s3LayerTx) Abort() {}

// s3TableTx uploads new parts under names the published manifest does not
// use, so that a reader of the published manifest never sees a changed file.
type s3TableTx struct {
	l    *s3Layer
	name string
	next map[string]int // first free part number per partition folder
}

func (t *s3TableTx) PartPath(dir string, i int) string { return partPath(dir, t.next[dir]+i) }

func (t *s3TableTx) Create(_ context.Context, rel string) (partFile, error) {
	f, err := os.CreateTemp(t.l.t.TempDir(), "part-*.parquet")
	if err != nil {
		return nil, err
	}
	return &s3File{l: t.l, f: f, rel: t.name + "/" + rel}, nil
}

func (t *s3TableTx) Keep(context.Context, ManifestFile) error { return nil }

// Finish uploads the table manifest under _manifests/<version>.json.
func (t *s3TableTx) Finish(ctx context.Context, manifest []byte, version string) (string, error) {
	rel := t.name + "/_manifests/" + version + ".json"
	return rel, t.l.put(ctx, rel, manifest, "application/json")
}

type s3File struct {
	l   *s3Layer
	f   *os.File
	rel string
}

func (f *s3File) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *s3File) Close(ctx context.Context) error {
	name := f.f.Name()
	defer os.Remove(name)
	if err := f.f.Close(); err != nil {
		return err
	}
	_, err := f.l.t.client.FPutObject(ctx, f.l.bucket, f.l.key+f.rel, name,
		minio.PutObjectOptions{ContentType: "application/vnd.apache.parquet", UserTags: f.l.tags})
	if err != nil {
		return fmt.Errorf("upload %s: %w", f.l.Location(f.rel), err)
	}
	return nil
}

func (f *s3File) Abort() {
	f.f.Close()
	_ = os.Remove(f.f.Name())
}

// setRetention puts the bronze retention rule in the layer's bucket
// lifecycle configuration (other rules are kept): data objects tagged
// novawh-retention=bronze under the layer's prefix expire after days.
func (l *s3Layer) setRetention(ctx context.Context, days int) (string, error) {
	cfg, err := l.t.client.GetBucketLifecycle(ctx, l.bucket)
	if err != nil {
		if code := minio.ToErrorResponse(err).Code; code != "NoSuchLifecycleConfiguration" {
			return "", fmt.Errorf("read the lifecycle of bucket %s: %w", l.bucket, err)
		}
		cfg = lifecycle.NewConfiguration()
	}
	id := lifecycleRuleID
	if l.key != "" {
		id += "-" + sha256Hex([]byte(l.key))[:8]
	}
	rule := lifecycle.Rule{
		ID:         id,
		Status:     "Enabled",
		Expiration: lifecycle.Expiration{Days: lifecycle.ExpirationDays(days)},
		RuleFilter: lifecycle.Filter{And: lifecycle.And{Prefix: l.key,
			Tags: []lifecycle.Tag{{Key: retentionTagKey, Value: retentionTagValue}}}},
	}
	rules := []lifecycle.Rule{rule}
	for _, r := range cfg.Rules {
		if r.ID != id {
			rules = append(rules, r)
		}
	}
	cfg.Rules = rules
	if err := l.t.client.SetBucketLifecycle(ctx, l.bucket, cfg); err != nil {
		return "", fmt.Errorf("set the lifecycle of bucket %s: %w", l.bucket, err)
	}
	return fmt.Sprintf("s3://%s: rule %s expires objects tagged %s=%s under %q after %d days", l.bucket, id, retentionTagKey, retentionTagValue, l.key, days), nil
}
