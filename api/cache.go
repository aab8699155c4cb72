package api

import (
	"container/list"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// entryOverhead is what the cache counts for one entry on top of its key
// and body: the map slot, the list element and the entry struct.
const entryOverhead = 128

// cache holds encoded JSON responses of the read endpoints for a TTL,
// bounded both in entries and in bytes (key + body + entryOverhead per
// entry), least recently used first out. A body larger than maxEntryBytes
// is never stored (it is served, not kept). A purge (after a refresh) bumps
// a generation so that a response computed from data read before the purge
// is never stored after it.
type cache struct {
	ttl           time.Duration
	maxEntries    int
	maxBytes      int64
	maxEntryBytes int64
	now           func() time.Time

	mu      sync.Mutex
	gen     uint64
	entries map[string]*list.Element // of *cacheEntry
	lru     *list.List               // front: most recently used
	stats   CacheStats
	group   singleflight.Group
}

type cacheEntry struct {
	key     string
	body    []byte
	expires time.Time
	cost    int64
}

// CacheStats is the response cache's own accounting (Handler.CacheStats,
// GET /health, /metrics).
type CacheStats struct {
	Entries       int   // responses held now
	Bytes         int64 // their cost: key + body + a fixed overhead each
	PeakBytes     int64 // the highest Bytes ever reached
	MaxBytes      int64 // the bound on Bytes
	MaxEntries    int   // the bound on Entries
	MaxEntryBytes int64 // larger responses are served but never stored
	Hits          int64 // requests answered from the cache
	Misses        int64 // requests computed (stored or not)
	Bypassed      int64 // computed responses too large to store
	Evictions     int64 // entries dropped to make room (not expiries)
}

func newCache(ttl time.Duration, maxEntries int, maxBytes int64, now func() time.Time) *cache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &cache{ttl: ttl, maxEntries: maxEntries, maxBytes: maxBytes, maxEntryBytes: maxBytes / 8, now: now,
		entries: map[string]*list.Element{}, lru: list.New()}
}

func (c *cache) enabled() bool { return c != nil && c.ttl > 0 }

// get returns a fresh entry and marks it recently used.
func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.body, true
}

func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores body unless the cache was purged since gen was read or the
// body is too large to keep; it reports whether it stored it.
func (c *cache) put(key string, body []byte, gen uint64) bool {
	cost := int64(len(key)+len(body)) + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return false
	}
	if int64(len(body)) > c.maxEntryBytes || cost > c.maxBytes {
		c.stats.Bypassed++
		return false
	}
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	now := c.now()
	// Make room: expired entries first (from the cold end), then the least
	// recently used ones.
	if c.stats.Bytes+cost > c.maxBytes || len(c.entries) >= c.maxEntries {
		for el := c.lru.Back(); el != nil; {
			prev := el.Prev()
			if !now.Before(el.Value.(*cacheEntry).expires) {
				c.remove(el)
			}
			el = prev
		}
	}
	for c.lru.Len() > 0 && (c.stats.Bytes+cost > c.maxBytes || len(c.entries) >= c.maxEntries) {
		c.remove(c.lru.Back())
		c.stats.Evictions++
	}
	e := &cacheEntry{key: key, body: body, expires: now.Add(c.ttl), cost: cost}
	c.entries[key] = c.lru.PushFront(e)
	c.stats.Bytes += cost
	c.stats.PeakBytes = max(c.stats.PeakBytes, c.stats.Bytes)
	return true
}

// remove drops one entry; c.mu is held.
func (c *cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.stats.Bytes -= e.cost
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
	c.lru.Init()
	c.stats.Bytes = 0
}

// snapshot returns the accounting; the zero value when c is nil.
func (c *cache) snapshot() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.MaxBytes, s.MaxEntries, s.MaxEntryBytes = len(c.entries), c.maxBytes, c.maxEntries, c.maxEntryBytes
	return s
}

func (c *cache) count(hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hit {
		c.stats.Hits++
	} else {
		c.stats.Misses++
	}
}

// Cache outcomes of fetch (the X-Cache header).
const (
	cacheHit    = "hit"
	cacheMiss   = "miss"   // computed and stored
	cacheBypass = "bypass" // computed, too large to store
)

// fetch returns the cached body for key, or computes it once for all
// concurrent callers (singleflight) and stores it when it fits. outcome is
// cacheHit, cacheMiss or cacheBypass.
func (c *cache) fetch(key string, compute func() ([]byte, error)) (body []byte, outcome string, err error) {
	if b, ok := c.get(key); ok {
		c.count(true)
		return b, cacheHit, nil
	}
	c.count(false)
	gen := c.generation()
	// The generation is part of the flight key: a caller arriving after a
	// purge never shares a computation started before it.
	type result struct {
		body   []byte
		stored bool
	}
	v, err, _ := c.group.Do(strconv.FormatUint(gen, 10)+"\x00"+key, func() (any, error) {
		b, err := compute()
		if err != nil {
			return nil, err
		}
		return result{b, c.put(key, b, gen)}, nil
	})
	if err != nil {
		return nil, cacheMiss, err
	}
	r := v.(result)
	if !r.stored && int64(len(r.body)) > c.maxEntryBytes {
		return r.body, cacheBypass, nil
	}
	return r.body, cacheMiss, nil
}
