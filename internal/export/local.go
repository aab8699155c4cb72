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

// tmpDirName holds the layer versions being built and the versions being
// deleted; it sits next to the layer folders so that renames stay on one
// file system. It is emptied at the start of every run and removed at its
// end.
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

func (l *localTarget) Prepare(context.Context) error {
	if err := os.MkdirAll(l.root, 0o755); err != nil {
		return fmt.Errorf("export target: %w", err)
	}
	if err := os.RemoveAll(l.TempDir()); err != nil {
		return fmt.Errorf("export target: remove what an interrupted export left in %s: %w", l.TempDir(), err)
	}
	return nil
}

// Finish removes the temporary folder (and whatever a failed run left in it).
func (l *localTarget) Finish() error {
	if err := os.RemoveAll(l.TempDir()); err != nil {
		return fmt.Errorf("export target: remove %s: %w", l.TempDir(), err)
	}
	return nil
}

func (l *localTarget) Layer(_ context.Context, layer string) (layerRoot, error) {
	return &localLayer{t: l, name: layer, dir: filepath.Join(l.root, layer)}, nil
}

// localLayer is <root>/<layer>. A new version of the whole layer is built
// in the temporary folder (files of unchanged tables and partitions are
// hard links to the published ones) and swapped with the published folder
// in one atomic rename: readers of the folder, by glob or through the
// manifests, see the previous layer or the new one, never a mix.
type localLayer struct {
	t    *localTarget
	name string
	dir  string
}

func (l *localLayer) String() string { return l.dir }

func (l *localLayer) Location(rel string) string {
	return filepath.Join(l.dir, filepath.FromSlash(rel))
}

func (l *localLayer) Read(_ context.Context, rel string) ([]byte, error) {
	b, err := os.ReadFile(l.Location(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (l *localLayer) Open(_ context.Context, rel string) (io.ReadCloser, error) {
	return os.Open(l.Location(rel))
}

func (l *localLayer) Repair(context.Context, []publishedTable) error { return nil }

func (l *localLayer) Begin(context.Context) (layerTx, error) {
	tmp := l.t.TempDir()
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmp, l.name+".")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	sync := &errgroup.Group{}
	sync.SetLimit(syncParallelism)
	return &localLayerTx{l: l, dir: dir, sync: sync, dirs: map[string]bool{dir: true}}, nil
}

// syncParallelism is how many fsyncs run at once: their latency (a device
// flush each) overlaps with writing the next partitions.
const syncParallelism = 16

type localLayerTx struct {
	l    *localLayer
	dir  string          // the version being built
	sync *errgroup.Group // fsyncs of finished files
	mu   sync.Mutex      // workers create files concurrently
	dirs map[string]bool // folders to fsync before publishing
}

// mkdir creates the folder d of the new version once.
func (t *localLayerTx) mkdir(d string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirs[d] {
		return nil
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	for p := d; p != t.dir && !t.dirs[p]; p = filepath.Dir(p) {
		t.dirs[p] = true
	}
	return nil
}

func (t *localLayerTx) Table(_ context.Context, name string, _ *Manifest) (tableTx, error) {
	dir := filepath.Join(t.dir, name)
	if err := t.mkdir(dir); err != nil {
		return nil, err
	}
	return &localTableTx{tx: t, name: name, dir: dir, published: filepath.Join(t.l.dir, name)}, nil
}

// Commit links into the new version everything of the published layer it
// does not replace, writes the layer manifest, makes the new version
// durable and swaps it with the published folder.
func (t *localLayerTx) Commit(_ context.Context, layerManifest []byte, rewritten []publishedTable) error {
	if err := t.sync.Wait(); err != nil {
		return err
	}
	skip := map[string]bool{ManifestName: true}
	for _, r := range rewritten {
		skip[r.entry.Name] = true
	}
	if err := t.linkPublished(skip); err != nil {
		return fmt.Errorf("carry over %s: %w", t.l.dir, err)
	}
	if err := writeFileSync(filepath.Join(t.dir, ManifestName), layerManifest); err != nil {
		return err
	}
	for d := range t.dirs {
		t.sync.Go(func() error { return syncDir(d) })
	}
	if err := t.sync.Wait(); err != nil {
		return err
	}
	swapped, err := exchange(t.dir, t.l.dir)
	if err != nil {
		return fmt.Errorf("publish %s: %w", t.l.dir, err)
	}
	if err := syncDir(filepath.Dir(t.l.dir)); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(t.dir)); err != nil {
		return err
	}
	if swapped {
		// t.dir now holds the previous version; what was kept is still
		// linked from the published folder.
		if err := os.RemoveAll(t.dir); err != nil {
			return fmt.Errorf("remove the previous version of %s: %w", t.l.dir, err)
		}
	}
	t.dir = ""
	return nil
}

// linkPublished hard-links every file of the published layer into the new
// version, except the top-level entries in skip. Files novawh did not write
// (tables of other tools, notes) are carried over as well.
func (t *localLayerTx) linkPublished(skip map[string]bool) error {
	entries, err := os.ReadDir(t.l.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if skip[e.Name()] {
			continue
		}
		src := filepath.Join(t.l.dir, e.Name())
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(t.l.dir, p)
			dst := filepath.Join(t.dir, rel)
			if d.IsDir() {
				return t.mkdir(dst)
			}
			return linkOrCopy(p, dst)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *localLayerTx) Abort() {
	_ = t.sync.Wait()
	if t.dir != "" {
		_ = os.RemoveAll(t.dir)
		t.dir = ""
	}
}

type localTableTx struct {
	tx        *localLayerTx
	name      string
	dir       string // in the new version
	published string // the published table folder
}

func (t *localTableTx) PartPath(dir string, i int) string { return partPath(dir, i) }

func (t *localTableTx) path(rel string) (string, error) {
	p := filepath.Join(t.dir, filepath.FromSlash(rel))
	return p, t.tx.mkdir(filepath.Dir(p))
}

func (t *localTableTx) Create(_ context.Context, rel string) (partFile, error) {
	p, err := t.path(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &localFile{f: f, sync: t.tx.sync}, nil
}

// Keep hard-links the published file into the new version: it keeps its
// inode, bytes and modification time. Without hard links it is copied.
func (t *localTableTx) Keep(_ context.Context, mf ManifestFile) error {
	p, err := t.path(mf.Path)
	if err != nil {
		return err
	}
	return linkOrCopy(filepath.Join(t.published, filepath.FromSlash(mf.Path)), p)
}

// Finish waits for the files' fsyncs, then writes the manifest and, last,
// the _SUCCESS marker.
func (t *localTableTx) Finish(_ context.Context, manifest []byte, _ string) (string, error) {
	if err := t.tx.sync.Wait(); err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(t.dir, ManifestName), manifest); err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(t.dir, SuccessName), nil); err != nil {
		return "", err
	}
	return t.name + "/" + ManifestName, nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst)
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

type localFile struct {
	f    *os.File
	sync *errgroup.Group
}

func (f *localFile) Write(p []byte) (int, error) { return f.f.Write(p) }

// Close hands the file to the background fsyncs; Finish waits for them.
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
