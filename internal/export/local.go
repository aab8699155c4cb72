package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"
)

// tmpDirName holds the versions being built and the versions being
// deleted; it sits next to the layer folders so that renames stay on one
// file system, and it is emptied at the start of every run.
const tmpDirName = ".novawh-tmp"

type localTarget struct {
	root string // absolute
}

func newLocalTarget(dir string) (*localTarget, error) {
	if dir == "" {
		return nil, errors.New("export target: empty folder name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("export target %s: %w", dir, err)
	}
	return &localTarget{root: abs}, nil
}

func (l *localTarget) String() string { return l.root }
func (l *localTarget) Close() error   { return nil }

func (l *localTarget) TempDir() string { return filepath.Join(l.root, tmpDirName) }

func (l *localTarget) Location(layer, table string) string {
	return filepath.Join(l.root, layer, table, ManifestName)
}

func (l *localTarget) Prepare(context.Context) error {
	if err := os.MkdirAll(l.root, 0o755); err != nil {
		return fmt.Errorf("export target: %w", err)
	}
	tmp := filepath.Join(l.root, tmpDirName)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("export target: remove what an interrupted export left in %s: %w", tmp, err)
	}
	return nil
}

func (l *localTarget) ReadManifest(_ context.Context, layer, table string) (*Manifest, []byte, error) {
	p := l.Location(layer, table)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseManifest(b, p)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errUnreadableManifest, err)
	}
	return m, b, nil
}

func (l *localTarget) Begin(_ context.Context, layer, table string, _ *Manifest) (tableTx, error) {
	tmp := filepath.Join(l.root, tmpDirName)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmp, layer+"."+table+".")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	sync := &errgroup.Group{}
	sync.SetLimit(syncParallelism)
	return &localTx{
		l:        l,
		sync:     sync,
		dir:      dir,
		final:    filepath.Join(l.root, layer, table),
		layerDir: filepath.Join(l.root, layer),
		dirs:     map[string]bool{dir: true},
	}, nil
}

// syncParallelism is how many fsyncs run at once: their latency (a device
// flush each) overlaps with writing the next partitions.
const syncParallelism = 16

type localTx struct {
	l        *localTarget
	sync     *errgroup.Group // fsyncs of finished files
	dir      string          // the version being built
	final    string          // the published folder
	layerDir string
	mu       sync.Mutex      // workers create files concurrently
	dirs     map[string]bool // folders to fsync before publishing
}

func (t *localTx) PartPath(dir string, i int) string { return partPath(dir, i) }

func (t *localTx) mkdirFor(rel string) (string, error) {
	p := filepath.Join(t.dir, filepath.FromSlash(rel))
	d := filepath.Dir(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.dirs[d] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
		t.dirs[d] = true
	}
	return p, nil
}

func (t *localTx) Create(_ context.Context, rel string) (partFile, error) {
	p, err := t.mkdirFor(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &localFile{f: f, sync: t.sync}, nil
}

// Keep hard-links the published file into the new version: it keeps its
// inode, bytes and modification time. Without hard links it is copied.
func (t *localTx) Keep(_ context.Context, mf ManifestFile) error {
	p, err := t.mkdirFor(mf.Path)
	if err != nil {
		return err
	}
	src := filepath.Join(t.final, filepath.FromSlash(mf.Path))
	if err := os.Link(src, p); err == nil {
		return nil
	}
	return copyFile(src, p)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, st.ModTime(), st.ModTime())
}

// Commit writes the manifest, makes the new version durable and swaps it
// with the published folder in one atomic rename.
func (t *localTx) Commit(_ context.Context, manifest []byte) error {
	if err := writeFileSync(filepath.Join(t.dir, ManifestName), manifest); err != nil {
		return err
	}
	if err := t.sync.Wait(); err != nil {
		return err
	}
	for d := range t.dirs {
		t.sync.Go(func() error { return syncDir(d) })
	}
	if err := t.sync.Wait(); err != nil {
		return err
	}
	if err := os.MkdirAll(t.layerDir, 0o755); err != nil {
		return err
	}
	swapped, err := exchange(t.dir, t.final)
	if err != nil {
		return fmt.Errorf("publish %s: %w", t.final, err)
	}
	if err := syncDir(t.layerDir); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(t.dir)); err != nil {
		return err
	}
	if swapped {
		// t.dir now holds the previous version: files that were kept are
		// still linked from the published folder.
		if err := os.RemoveAll(t.dir); err != nil {
			return fmt.Errorf("remove the previous version of %s: %w", t.final, err)
		}
	}
	t.dir = ""
	return nil
}

func (t *localTx) Abort() {
	_ = t.sync.Wait()
	if t.dir != "" {
		_ = os.RemoveAll(t.dir)
		t.dir = ""
	}
}

type localFile struct {
	f    *os.File
	sync *errgroup.Group
}

func (f *localFile) Write(p []byte) (int, error) { return f.f.Write(p) }

// Close hands the file to the background fsyncs; Commit waits for them.
func (f *localFile) Close(context.Context) error {
	file := f.f
	f.sync.Go(func() error {
		if err := file.Sync(); err != nil {
			file.Close()
			return fmt.Errorf("fsync %s: %w", file.Name(), err)
		}
		return file.Close()
	})
	return nil
}

func (f *localFile) Abort() {
	f.f.Close()
	_ = os.Remove(f.f.Name())
}

func writeFileSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", d, err)
	}
	return nil
}
