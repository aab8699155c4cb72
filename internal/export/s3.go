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

type s3Options struct{ cfg *S3Config }

type s3Target struct {
	client  *minio.Client
	bucket  string // "" means nova-<layer>
	prefix  string
	tempDir string
	region  string

	mu      sync.Mutex
	checked map[string]bool
}

func newS3Target(_ context.Context, bucket, prefix string, opt s3Options) (*s3Target, error) {
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
				return nil, fmt.Errorf("S3 endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
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
		return nil, fmt.Errorf("S3 client for %s: %w", host, err)
	}
	return &s3Target{client: client, bucket: bucket, prefix: prefix,
		tempDir: cfg.TempDir, region: cfg.Region, checked: map[string]bool{}}, nil
}

func (s *s3Target) bucketFor(layer string) string {
	if s.bucket != "" {
		return s.bucket
	}
	return "nova-" + layer
}

func (s *s3Target) String() string {
	if s.bucket == "" {
		return "s3://nova-<layer>/" + s.prefix
	}
	return strings.TrimSuffix("s3://"+s.bucket+"/"+s.prefix, "/")
}

func (s *s3Target) Close() error { return nil }

// tableKey is the object key prefix of layer/table, ending with "/".
func (s *s3Target) tableKey(layer, table string) string {
	return strings.TrimPrefix(path.Join(s.prefix, layer, table)+"/", "/")
}

func (s *s3Target) Location(layer, table string) string {
	return "s3://" + s.bucketFor(layer) + "/" + s.tableKey(layer, table) + ManifestName
}

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

// ensureBucket creates the layer's bucket when it does not exist yet.
func (s *s3Target) ensureBucket(ctx context.Context, layer string) error {
	b := s.bucketFor(layer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checked[b] {
		return nil
	}
	ok, err := s.client.BucketExists(ctx, b)
	if err != nil {
		return fmt.Errorf("S3 bucket %s: %w", b, err)
	}
	if !ok {
		if err := s.client.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: s.region}); err != nil {
			return fmt.Errorf("create S3 bucket %s: %w", b, err)
		}
	}
	s.checked[b] = true
	return nil
}

func (s *s3Target) ReadManifest(ctx context.Context, layer, table string) (*Manifest, []byte, error) {
	if err := s.ensureBucket(ctx, layer); err != nil {
		return nil, nil, err
	}
	key := s.tableKey(layer, table) + ManifestName
	obj, err := s.client.GetObject(ctx, s.bucketFor(layer), key, minio.GetObjectOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", s.Location(layer, table), err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("read %s: %w", s.Location(layer, table), err)
	}
	m, err := ParseManifest(b, s.Location(layer, table))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errUnreadableManifest, err)
	}
	return m, b, nil
}

func (s *s3Target) Begin(ctx context.Context, layer, table string, base *Manifest) (tableTx, error) {
	if err := s.ensureBucket(ctx, layer); err != nil {
		return nil, err
	}
	next := map[string]int{}
	if base != nil {
		for _, f := range base.Files {
			dir, name := path.Split(f.Path)
			dir = strings.TrimSuffix(dir, "/")
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "part-"), ".parquet"))
			if err == nil && n+1 > next[dir] {
				next[dir] = n + 1
			}
		}
	}
	return &s3Tx{s: s, bucket: s.bucketFor(layer), key: s.tableKey(layer, table), next: next, live: map[string]bool{}}, nil
}

// s3Tx uploads new parts under names the published manifest does not use,
// so that a reader of the published manifest never sees a changed file.
type s3Tx struct {
	s      *s3Target
	bucket string
	key    string
	next   map[string]int  // first free part number per partition folder
	mu     sync.Mutex      // workers create files concurrently
	live   map[string]bool // paths of the new version
}

func (t *s3Tx) PartPath(dir string, i int) string { return partPath(dir, t.next[dir]+i) }

func (t *s3Tx) Create(_ context.Context, rel string) (partFile, error) {
	f, err := os.CreateTemp(t.s.TempDir(), "part-*.parquet")
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.live[rel] = true
	t.mu.Unlock()
	return &s3File{tx: t, f: f, key: t.key + rel}, nil
}

func (t *s3Tx) Keep(_ context.Context, f ManifestFile) error {
	t.live[f.Path] = true
	return nil
}

// Commit uploads the manifest (the parts are already uploaded), then
// deletes every object of the table the manifest does not list, including
// parts an interrupted run uploaded.
func (t *s3Tx) Commit(ctx context.Context, manifest []byte) error {
	_, err := t.s.client.PutObject(ctx, t.bucket, t.key+ManifestName, bytes.NewReader(manifest), int64(len(manifest)),
		minio.PutObjectOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s%s: %w", t.bucket, t.key, ManifestName, err)
	}
	stale := make(chan minio.ObjectInfo)
	listErr := make(chan error, 1)
	go func() {
		defer close(stale)
		for o := range t.s.client.ListObjects(ctx, t.bucket, minio.ListObjectsOptions{Prefix: t.key, Recursive: true}) {
			if o.Err != nil {
				listErr <- o.Err
				return
			}
			rel := strings.TrimPrefix(o.Key, t.key)
			if rel == ManifestName || t.live[rel] {
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
	for e := range t.s.client.RemoveObjects(ctx, t.bucket, stale, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("delete s3://%s/%s: %w", t.bucket, e.ObjectName, e.Err))
	}
	select {
	case err := <-listErr:
		errs = append(errs, fmt.Errorf("list s3://%s/%s: %w", t.bucket, t.key, err))
	default:
	}
	return errors.Join(errs...)
}

// Abort leaves uploaded parts in place: they are not in any manifest and
// the next commit of the table deletes them.
func (t *s3Tx) Abort() {}

type s3File struct {
	tx  *s3Tx
	f   *os.File
	key string
}

func (f *s3File) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *s3File) Close(ctx context.Context) error {
	name := f.f.Name()
	defer os.Remove(name)
	if err := f.f.Close(); err != nil {
		return err
	}
	_, err := f.tx.s.client.FPutObject(ctx, f.tx.bucket, f.key, name,
		minio.PutObjectOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", f.tx.bucket, f.key, err)
	}
	return nil
}

func (f *s3File) Abort() {
	f.f.Close()
	_ = os.Remove(f.f.Name())
}
