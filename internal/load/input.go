package load

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"

	"github.com/novacorrente/novawh/internal/panics"
)

// input is one thing to load.
type input struct {
	name    string // meta.loads.file_name
	base    string // base name (file name pattern, messages)
	r       io.Reader
	ra      io.ReaderAt
	size    int64 // -1 unknown
	sha     string
	hasher  hash.Hash       // sha computed while reading (readers)
	counter *countingReader // bytes read (readers)
	sidecar string
	format  string // csv | parquet | records
	// sameNameOnly: only an earlier load of the same name counts as this
	// input (pull windows); skipReason, when set, explains a skip.
	sameNameOnly bool
	skipReason   func(earlier int64) string
	// records and columns are the rows of a Records input.
	records []RecordRow
	columns []string
	kinds   []kind
	// Large files are hashed while they load: shaDone closes when sha (or
	// hashErr) is set; skipID is set when that content was loaded before.
	shaDone chan struct{}
	hashErr error
	skipID  atomic.Int64
}

// asyncHashMin is the file size from which the sha256 is computed while
// loading instead of before.
const asyncHashMin = 8 << 20

var errAlreadyLoaded = errors.New("content already loaded")

// waitSHA waits for an asynchronous hash.
func (in *input) waitSHA() error {
	if in.shaDone != nil {
		<-in.shaDone
		return in.hashErr
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func fileInput(f *os.File, name string, src *Source) (*input, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in := &input{name: name, base: baseOf(name), r: f, ra: f, size: st.Size(), sidecar: name + ".meta.json"}
	if st.Size() >= asyncHashMin {
		in.shaDone = make(chan struct{})
		go func() {
			defer close(in.shaDone)
			defer panics.Recover(&in.hashErr, "hashing "+name)
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
				in.hashErr = fmt.Errorf("%s: read: %w", name, err)
				return
			}
			in.sha = hex.EncodeToString(h.Sum(nil))
		}()
	} else {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, fmt.Errorf("%s: read: %w", name, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.sha = hex.EncodeToString(h.Sum(nil))
	}
	var magic [4]byte
	n, _ := f.ReadAt(magic[:], 0)
	isPar := n == 4 && string(magic[:]) == "PAR1"
	switch src.Format {
	case "csv":
		in.format = "csv"
	case "parquet":
		in.format = "parquet"
	default:
		switch {
		case hasExt(name, ".parquet"), isPar:
			in.format = "parquet"
		default:
			in.format = "csv"
		}
	}
	if in.format == "csv" && isPar {
		return in, &FileError{Msg: "not a CSV file: it is a Parquet file (use format: parquet or auto)"}
	}
	return in, nil
}
