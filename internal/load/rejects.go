package load

import (
	"bytes"
	"io"
	"os"
)

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
