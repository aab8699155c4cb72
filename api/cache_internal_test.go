package api

import (
	"bytes"
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
	c := newCache(60*time.Second, 100, 1<<20, clock)
	calls := 0
	compute := func() ([]byte, error) { calls++; return []byte(fmt.Sprint(calls)), nil }

	b, out, err := c.fetch("k", compute)
	if err != nil || out != cacheMiss || string(b) != "1" {
		t.Fatalf("first fetch: %s %v %v", b, out, err)
	}
	advance(59 * time.Second)
	if b, out, _ = c.fetch("k", compute); out != cacheHit || string(b) != "1" {
		t.Fatalf("within the TTL: %s %s", b, out)
	}
	advance(time.Second)
	if b, out, _ = c.fetch("k", compute); out != cacheMiss || string(b) != "2" {
		t.Fatalf("at the TTL the entry expires: %s %s", b, out)
	}
	c.purge()
	if b, out, _ = c.fetch("k", compute); out != cacheMiss || string(b) != "3" {
		t.Fatalf("after a purge: %s %s", b, out)
	}
	// Errors are not cached.
	if _, _, err := c.fetch("bad", func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if _, ok := c.get("bad"); ok {
		t.Fatal("an error was cached")
	}
	if st := c.snapshot(); st.Hits != 1 || st.Misses != 4 {
		t.Errorf("hits %d misses %d", st.Hits, st.Misses)
	}
}

// A response computed from data read before a purge is not stored after it.
func TestCachePurgeDuringCompute(t *testing.T) {
	t.Parallel()
	c := newCache(time.Hour, 100, 1<<20, time.Now)
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
	b, out, err := c.fetch("k", func() ([]byte, error) { return []byte("fresh"), nil })
	if err != nil || out != cacheMiss || string(b) != "fresh" {
		t.Fatalf("after purge: %s %s err=%v", b, out, err)
	}
	close(release)
	<-done
	if b, ok := c.get("k"); !ok || string(b) != "fresh" {
		t.Fatalf("cached %q (ok=%v), want fresh", b, ok)
	}
}

func TestCacheBoundedInEntries(t *testing.T) {
	t.Parallel()
	c := newCache(time.Hour, 50, 1<<20, time.Now)
	for i := 0; i < 500; i++ {
		if _, _, err := c.fetch(fmt.Sprint(i), func() ([]byte, error) { return []byte("x"), nil }); err != nil {
			t.Fatal(err)
		}
		if n := c.snapshot().Entries; n > 50 {
			t.Fatalf("%d entries, bound 50", n)
		}
	}
}

// The byte bound holds whatever the sizes, the least recently used entry
// goes first, and a body over an eighth of the bound is served, not kept.
func TestCacheBoundedInBytes(t *testing.T) {
	t.Parallel()
	const budget = 64 << 10 // 64 KiB: entries up to 8 KiB are kept
	c := newCache(time.Hour, 1000, budget, time.Now)
	body := func(n int) func() ([]byte, error) {
		return func() ([]byte, error) { return bytes.Repeat([]byte("a"), n), nil }
	}
	for i := 0; i < 300; i++ {
		size := 1 + (i*977)%(8<<10) // 1 B .. 8 KiB
		if _, out, err := c.fetch(fmt.Sprint("k", i), body(size)); err != nil || out != cacheMiss {
			t.Fatalf("entry %d (%d B): %s %v", i, size, out, err)
		}
		// Keep k0 hot: it must survive every eviction.
		if _, out, _ := c.fetch("k0", body(1)); out != cacheHit {
			t.Fatalf("after entry %d the most recently used entry k0 was evicted (%s)", i, out)
		}
		if st := c.snapshot(); st.Bytes > budget {
			t.Fatalf("after entry %d: %d bytes, bound %d", i, st.Bytes, budget)
		}
	}
	st := c.snapshot()
	if st.PeakBytes > budget || st.PeakBytes < budget/2 || st.Evictions == 0 {
		t.Fatalf("peak %d (bound %d), evictions %d", st.PeakBytes, budget, st.Evictions)
	}
	// The accounting equals the sum of what is held.
	var sum int64
	for k, el := range c.entries {
		e := el.Value.(*cacheEntry)
		sum += int64(len(k)+len(e.body)) + entryOverhead
	}
	if sum != st.Bytes || len(c.entries) != st.Entries || c.lru.Len() != st.Entries {
		t.Fatalf("accounting %d bytes / %d entries, held %d bytes / %d entries / %d in the LRU list", st.Bytes, st.Entries, sum, len(c.entries), c.lru.Len())
	}
	// Too large: served, counted as bypassed, not stored, nothing evicted.
	b, out, err := c.fetch("big", body(8<<10+1))
	if err != nil || out != cacheBypass || len(b) != 8<<10+1 {
		t.Fatalf("large body: %d B %s %v", len(b), out, err)
	}
	if _, ok := c.get("big"); ok {
		t.Fatal("a body over the entry limit was stored")
	}
	if after := c.snapshot(); after.Bypassed != 1 || after.Evictions != st.Evictions || after.Entries != st.Entries {
		t.Fatalf("after the large body: %+v (before %+v)", after, st)
	}
	c.purge()
	if st := c.snapshot(); st.Bytes != 0 || st.Entries != 0 {
		t.Fatalf("after purge: %+v", st)
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
