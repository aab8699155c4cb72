package load

import (
	"errors"
	"io"
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
