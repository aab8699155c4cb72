package serve

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCacheTTLAndPurge(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 26, 3, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newCache(60*time.Second, 100, clock)
	calls := 0
	compute := func() ([]byte, error) { calls++; return []byte(fmt.Sprint(calls)), nil }

	b, hit, err := c.fetch("k", compute)
	if err != nil || hit || string(b) != "1" {
		t.Fatalf("first fetch: %s %v %v", b, hit, err)
	}
	advance(59 * time.Second)
	if b, hit, _ = c.fetch("k", compute); !hit || string(b) != "1" {
		t.Fatalf("within the TTL: %s hit=%v", b, hit)
	}
	advance(time.Second)
	if b, hit, _ = c.fetch("k", compute); hit || string(b) != "2" {
		t.Fatalf("at the TTL the entry expires: %s hit=%v", b, hit)
	}
	c.purge()
	if b, hit, _ = c.fetch("k", compute); hit || string(b) != "3" {
		t.Fatalf("after a purge: %s hit=%v", b, hit)
	}
	// Errors are not cached.
	if _, _, err := c.fetch("bad", func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if _, ok := c.get("bad"); ok {
		t.Fatal("an error was cached")
	}
	if c.hits.Load() != 1 || c.misses.Load() != 4 {
		t.Errorf("hits %d misses %d", c.hits.Load(), c.misses.Load())
	}
}

// A response computed from data read before a purge is not stored after it.
func TestCachePurgeDuringCompute(t *testing.T) {
	t.Parallel()
	c := newCache(time.Hour, 100, time.Now)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = c.fetch("k", func() ([]byte, error) {
			close(started)
			<-release
			return []byte("stale"), nil
		})
	}()
	<-started
	c.purge() // a refresh finished while the old data was being read
	// A request arriving now does not join the stale computation.
	b, hit, err := c.fetch("k", func() ([]byte, error) { return []byte("fresh"), nil })
	if err != nil || hit || string(b) != "fresh" {
		t.Fatalf("after purge: %s hit=%v err=%v", b, hit, err)
	}
	close(release)
	<-done
	if b, ok := c.get("k"); !ok || string(b) != "fresh" {
		t.Fatalf("cached %q (ok=%v), want fresh", b, ok)
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	c := newCache(time.Hour, 50, time.Now)
	for i := 0; i < 500; i++ {
		if _, _, err := c.fetch(fmt.Sprint(i), func() ([]byte, error) { return []byte("x"), nil }); err != nil {
			t.Fatal(err)
		}
		if n := c.len(); n > 50 {
			t.Fatalf("%d entries, bound 50", n)
		}
	}
}

func TestParseHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`a%b_c\d`: `%a\%b\_c\\d%`, "plain": "%plain%"} {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
	if got := truncate("ação ação", 2); got != "a…" {
		t.Errorf("truncate keeps runes whole: %q", got)
	}
}
