package load

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/novacorrente/novawh/internal/panics"
)

const (
	chunkCap  = 256 << 10
	chunkSend = chunkCap - 16<<10
)

var errAborted = errors.New("copy aborted")

// chunkPipe hands encoded COPY data from the parsing goroutine to pgconn's
// sending goroutine. A few chunks are in flight at a time, so memory stays
// flat whatever the input size, and parsing overlaps with sending.
type chunkPipe struct {
	ch   chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
	fin  sync.Once
	err  error // set by the producer before closing ch
	cur  []byte
	off  int
	hook func() // tests only: runs in each Read
}

func newChunkPipe() *chunkPipe {
	return &chunkPipe{ch: make(chan []byte, 4), free: make(chan []byte, 8), done: make(chan struct{})}
}

// Read runs on pgconn's goroutine, which no recover of ours reaches: a
// panic becomes the COPY's error.
func (p *chunkPipe) Read(b []byte) (n int, err error) {
	defer panics.Recover(&err, "the COPY data reader")
	if p.hook != nil {
		p.hook()
	}
	for p.off >= len(p.cur) {
		if p.cur != nil {
			select {
			case p.free <- p.cur[:0]:
			default:
			}
			p.cur = nil
		}
		c, ok := <-p.ch
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.cur, p.off = c, 0
	}
	n = copy(b, p.cur[p.off:])
	p.off += n
	return n, nil
}

// get returns an empty chunk.
func (p *chunkPipe) get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, 0, chunkCap)
	}
}

// send passes a filled chunk on; it fails once the consumer has gone.
func (p *chunkPipe) send(b []byte) error {
	select {
	case p.ch <- b:
		return nil
	case <-p.done:
		return errAborted
	}
}

// finish ends the stream (err nil: clean end of data).
func (p *chunkPipe) finish(err error) {
	p.fin.Do(func() {
		p.err = err
		close(p.ch)
	})
}

// abort unblocks a producer stuck in send after the consumer stopped.
func (p *chunkPipe) abort() { p.once.Do(func() { close(p.done) }) }

// spill buffers bytes in memory up to a limit, then in a temporary file,
// so that a file with many rejected rows keeps memory flat.
type spill struct {
	mem   []byte
	limit int
	f     *os.File
	n     int64
	err   error
}

func (s *spill) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.n += int64(len(b))
	if s.f == nil && len(s.mem)+len(b) <= s.limit {
		s.mem = append(s.mem, b...)
		return len(b), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "novawh-rejects-*")
		if err != nil {
			s.err = err
			return 0, err
		}
		s.f = f
		if _, err := f.Write(s.mem); err != nil {
			s.err = err
			return 0, err
		}
		s.mem = nil
	}
	if _, err := s.f.Write(b); err != nil {
		s.err = err
		return 0, err
	}
	return len(b), nil
}

// reader returns the buffered bytes from the start.
func (s *spill) reader() (io.Reader, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.f == nil {
		return bytes.NewReader(s.mem), nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.f, nil
}

func (s *spill) close() {
	if s.f != nil {
		name := s.f.Name()
		_ = s.f.Close()
		_ = os.Remove(name)
		s.f = nil
	}
	s.mem = nil
}
