package progress_test

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/progress"
)

// syncBuffer is a terminal stand-in: progressbar's spinner draws from its
// own goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func terminal(io.Writer) bool    { return true }
func notTerminal(io.Writer) bool { return false }

// frames splits what a bar wrote into its non-blank frames.
func frames(out string) []string {
	var fs []string
	for _, f := range strings.Split(out, "\r") {
		if strings.TrimSpace(f) != "" {
			fs = append(fs, strings.TrimSpace(f))
		}
	}
	return fs
}

// Throttle long enough that only the frames drawn unconditionally appear:
// the outcome does not depend on the machine's speed.
const never = time.Hour

func TestFirstFrame(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		start func(r *progress.Reporter) *progress.Task
		want  []string // substrings of the first frame
		not   []string // never in the first frame
	}{
		{"bytes", func(r *progress.Reporter) *progress.Task { return r.Bytes("custo.csv", 166<<20) },
			[]string{"custo.csv", "0%", "[0s"}, []string{"/s", "GB", "MB"}},
		{"count", func(r *progress.Reporter) *progress.Task {
			return r.Count("export gold.fact_forecast", 17, "partitions")
		},
			[]string{"export gold.fact_forecast", "0%", "0/17", "[0s]"}, []string{"/s", "/hr"}},
		{"spinner", func(r *progress.Reporter) *progress.Task { return r.Count("refresh gold.fact_forecast", 0, "rows") },
			[]string{"refresh gold.fact_forecast 0 rows", "[0s]"}, []string{"/s", "/hr", "-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			r := progress.New(&out, progress.Options{Terminal: terminal, Throttle: never})
			task := tc.start(r)
			// A first chunk right away (the first 64 KiB of a file) must
			// not draw a frame with a rate computed over microseconds.
			task.Add(64 << 10)
			fs := frames(out.String())
			task.Done()
			if len(fs) == 0 {
				t.Fatal("no first frame")
			}
			first := fs[0]
			for _, w := range tc.want {
				if !strings.Contains(first, w) {
					t.Errorf("first frame %q lacks %q", first, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(first, n) {
					t.Errorf("first frame %q contains %q", first, n)
				}
			}
			if tc.name == "bytes" && len(fs) != 1 {
				t.Errorf("a chunk within the throttle interval drew more frames: %q", fs)
			}
			// Done clears the line: what remains after the last \r is blank.
			all := out.String()
			if last := all[strings.LastIndex(all, "\r")+1:]; strings.TrimSpace(last) != "" {
				t.Errorf("line not cleared after Done: %q", last)
			}
		})
	}
}

func TestSpinnerCountsAndPhases(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	r := progress.New(&out, progress.Options{Terminal: terminal, Throttle: time.Nanosecond})
	task := r.Count("refresh: silver", 0, "rows")
	task.Add(1200)
	task.Describe("refresh: gold.fact_forecast")
	task.Add(34567)
	task.Done()
	fs := frames(out.String())
	joined := strings.Join(fs, "\n")
	for _, w := range []string{"refresh: silver 1,200 rows", "refresh: gold.fact_forecast 35,767 rows"} {
		if !strings.Contains(joined, w) {
			t.Errorf("frames lack %q:\n%s", w, joined)
		}
	}
	// After Done nothing more is drawn (the spinner's own ticker stopped).
	n := len(out.String())
	task.Add(5)
	time.Sleep(300 * time.Millisecond)
	if len(out.String()) != n {
		t.Errorf("drawn after Done: %q", out.String()[n:])
	}
}

func TestQuietWhenNotATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	for _, r := range []*progress.Reporter{
		progress.New(&out, progress.Options{Terminal: notTerminal}),
		progress.New(&out, progress.Options{}), // a bytes.Buffer is no terminal
		nil,
	} {
		if r.Enabled() {
			t.Fatal("enabled on a non-terminal")
		}
		task := r.Bytes("x.csv", 100)
		task.Add(10)
		task.Describe("y")
		if got, _ := io.ReadAll(task.Reader(strings.NewReader("abc"))); string(got) != "abc" {
			t.Fatalf("reader of a quiet task read %q", got)
		}
		task.Done()
		if w := r.Writer(&out); w != io.Writer(&out) {
			t.Fatal("quiet reporter wraps the log writer")
		}
	}
	if out.Len() != 0 {
		t.Fatalf("wrote %q", out.String())
	}
}

// Many goroutines add to one task (export workers, parallel COPY streams)
// while log lines are written and a new task replaces it: no race (go test
// -race), every unit counted, the log lines intact.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	r := progress.New(&out, progress.Options{Terminal: terminal, Throttle: time.Nanosecond})
	log := r.Writer(&out)
	task := r.Count("export", 800, "partitions")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				task.Add(1)
				if i%25 == 0 {
					_, _ = io.WriteString(log, "level=INFO msg=partition\n")
				}
			}
		}()
	}
	wg.Wait()
	if task.N() != 800 {
		t.Errorf("counted %d, want 800", task.N())
	}
	if fs := frames(out.String()); !strings.Contains(fs[len(fs)-1], "/800)") {
		t.Errorf("last frame %q", fs[len(fs)-1])
	}
	next := r.Count("export dim_item", 1, "partitions")
	task.Add(1) // ended by the new task: ignored
	next.Done()
	if c := strings.Count(out.String(), "\r\x1b[Klevel=INFO msg=partition\n"); c != 32 {
		t.Errorf("%d log lines written after clearing the bar line, want 32", c)
	}
}

func TestReaderCountsBytes(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	r := progress.New(&out, progress.Options{Terminal: terminal, Throttle: time.Nanosecond})
	task := r.Bytes("data.csv", 3<<20)
	n, err := io.Copy(io.Discard, task.Reader(bytes.NewReader(make([]byte, 3<<20))))
	if err != nil || n != 3<<20 {
		t.Fatalf("copied %d: %v", n, err)
	}
	task.Done()
	if task.N() != 3<<20 {
		t.Errorf("counted %d bytes, want %d", task.N(), 3<<20)
	}
	// The bar reached its total, which clears the line.
	all := out.String()
	if last := all[strings.LastIndex(all, "\r")+1:]; strings.TrimSpace(last) != "" {
		t.Errorf("line not cleared at 100%%: %q", last)
	}
}
