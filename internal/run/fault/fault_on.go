//go:build faultinject

package fault

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Enabled reports whether the hooks are compiled in (build tag faultinject).
const Enabled = true

// Env names.
const (
	EnvPauseAt  = "NOVAWH_FAULT_PAUSE_AT"
	EnvPauseFor = "NOVAWH_FAULT_PAUSE_FOR"
	EnvPanicAt  = "NOVAWH_FAULT_PANIC_AT"
)

// points counts the hits of the points one variable names.
type points struct {
	env  string
	once sync.Once
	mu   sync.Mutex
	want map[string]int // point -> hit number to act at
	hits map[string]int
}

var (
	pauses = &points{env: EnvPauseAt}
	panics = &points{env: EnvPanicAt}
	stderr = os.Stderr
)

func (ps *points) parse() {
	ps.want, ps.hits = map[string]int{}, map[string]int{}
	for _, p := range strings.Split(os.Getenv(ps.env), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n := 1
		if name, num, ok := strings.Cut(p, "#"); ok {
			if v, err := strconv.Atoi(num); err == nil && v > 0 {
				n = v
			}
			p = name
		}
		ps.want[p] = n
	}
}

// hit counts one pass at point and reports whether this is the one to act at.
func (ps *points) hit(point string) bool {
	ps.once.Do(ps.parse)
	if len(ps.want) == 0 {
		return false
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n, ok := ps.want[point]
	ps.hits[point]++
	return ok && ps.hits[point] == n
}

// Panic panics at point when the test hook asks for it (see the package doc).
func Panic(point string) {
	if panics.hit(point) {
		panic("novawh-fault: injected panic at " + point)
	}
}

// Pause stops at point when the test hook asks for it (see the package doc).
func Pause(ctx context.Context, point string) {
	if !pauses.hit(point) {
		return
	}
	d := 10 * time.Minute
	if v, err := time.ParseDuration(os.Getenv(EnvPauseFor)); err == nil && v > 0 {
		d = v
	}
	resume := make(chan os.Signal, 1)
	signal.Notify(resume, syscall.SIGUSR1)
	defer signal.Stop(resume)
	fmt.Fprintf(stderr, "novawh-fault: paused at %s pid %d\n", point, os.Getpid())
	select {
	case <-resume:
	case <-ctx.Done():
	case <-time.After(d):
	}
	fmt.Fprintf(stderr, "novawh-fault: resumed at %s\n", point)
}
