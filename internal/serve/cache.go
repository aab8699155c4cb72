package serve

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// cache holds encoded JSON responses of the read endpoints for a TTL. A
// purge (after a refresh) bumps a generation so that a response computed
// from data read before the purge is never stored after it.
type cache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	gen     uint64
	entries map[string]cacheEntry
	group   singleflight.Group

	hits, misses atomic.Int64
}

type cacheEntry struct {
	body    []byte
	expires time.Time
}

func newCache(ttl time.Duration, maxEntries int, now func() time.Time) *cache {
	if maxEntries <= 0 {
		maxEntries = 10000
	}
	return &cache{ttl: ttl, maxEntries: maxEntries, now: now, entries: map[string]cacheEntry{}}
}

func (c *cache) enabled() bool { return c != nil && c.ttl > 0 }

// get returns a fresh entry.
func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.body, true
}

func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores body unless the cache was purged since gen was read.
func (c *cache) put(key string, body []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	now := c.now()
	if len(c.entries) >= c.maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		// Still full: drop arbitrary entries (map order) down to 90 %.
		for k := range c.entries {
			if len(c.entries) < c.maxEntries*9/10 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{body: body, expires: now.Add(c.ttl)}
}

// purge drops every entry.
func (c *cache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// fetch returns the cached body for key, or computes it once for all
// concurrent callers (singleflight) and stores it. hit reports a cache hit.
func (c *cache) fetch(key string, compute func() ([]byte, error)) (body []byte, hit bool, err error) {
	if b, ok := c.get(key); ok {
		c.hits.Add(1)
		return b, true, nil
	}
	c.misses.Add(1)
	gen := c.generation()
	// The generation is part of the flight key: a caller arriving after a
	// purge never shares a computation started before it.
	v, err, _ := c.group.Do(strconv.FormatUint(gen, 10)+"\x00"+key, func() (any, error) {
		b, err := compute()
		if err != nil {
			return nil, err
		}
		c.put(key, b, gen)
		return b, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.([]byte), false, nil
}
