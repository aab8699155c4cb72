// Package fault is a TEST HOOK used by the fault-injection tests of the
// nightly job: with NOVAWH_FAULT_PAUSE_AT set, the process stops at named
// points so a test can kill it (kill -9), restart PostgreSQL under it, or
// start a second run while the first holds the lock.
//
//	NOVAWH_FAULT_PAUSE_AT=point[#n][,point[#n]...]
//
// pauses at the n-th time (default: the first) the process reaches point.
// Points of `novawh run`: run.locked, load.source (before each configured
// input source), load.done, pull, refresh, check, export, export.done,
// run.finish. While paused the process prints
//
//	novawh-fault: paused at <point> pid <pid>
//
// on stderr and waits until it receives SIGUSR1 (resume), its context ends,
// or NOVAWH_FAULT_PAUSE_FOR (a Go duration, default 10m) elapses. Production
// runs never set the variable; when unset Pause costs one map lookup.
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

// Env names.
const (
	EnvPauseAt  = "NOVAWH_FAULT_PAUSE_AT"
	EnvPauseFor = "NOVAWH_FAULT_PAUSE_FOR"
)

var (
	once   sync.Once
	mu     sync.Mutex
	want   map[string]int // point -> hit number to pause at
	hits   map[string]int
	stderr = os.Stderr
)

func parse() {
	want, hits = map[string]int{}, map[string]int{}
	for _, p := range strings.Split(os.Getenv(EnvPauseAt), ",") {
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
		want[p] = n
	}
}

// Pause stops at point when the test hook asks for it (see the package doc).
func Pause(ctx context.Context, point string) {
	once.Do(parse)
	if len(want) == 0 {
		return
	}
	mu.Lock()
	n, ok := want[point]
	hits[point]++
	hit := hits[point]
	mu.Unlock()
	if !ok || hit != n {
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
