package imapmsg

import (
	"container/list"
	"io"
	"sync"
)

// Cache is a byte-bounded LRU of parsed messages, safe for concurrent
// use. Keys are opaque strings that must identify a message's content
// uniquely across every user and mailbox the cache serves, e.g.
// user + "\x00" + mailbox + "\x00" + UIDVALIDITY + "\x00" + UID, or a
// store GUID.
type Cache struct {
	maxBytes int64

	mu    sync.Mutex
	used  int64
	ll    *list.List // front = most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	msg *Message
}

// DefaultCacheBytes is the budget NewCache uses for maxBytes <= 0.
const DefaultCacheBytes = 64 << 20

// NewCache returns a cache holding parsed messages of at most about
// maxBytes of memory (DefaultCacheBytes when maxBytes <= 0).
func NewCache(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &Cache{maxBytes: maxBytes, ll: list.New(), items: make(map[string]*list.Element)}
}

// Get returns the cached message for key, or nil.
func (c *Cache) Get(key string) *Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry).msg
	}
	return nil
}

// Add stores m under key, evicting the least recently used messages to
// stay within the budget. A message larger than the whole budget is not
// kept.
func (c *Cache) Add(key string, m *Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		old := e.Value.(*cacheEntry)
		c.used -= old.msg.mem
		old.msg = m
		c.used += m.mem
		c.ll.MoveToFront(e)
	} else {
		if m.mem > c.maxBytes {
			return
		}
		c.items[key] = c.ll.PushFront(&cacheEntry{key: key, msg: m})
		c.used += m.mem
	}
	for c.used > c.maxBytes && c.ll.Len() > 0 {
		e := c.ll.Back()
		ent := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.items, ent.key)
		c.used -= ent.msg.mem
	}
}

// Remove drops key from the cache (after EXPUNGE, say).
func (c *Cache) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.Remove(e)
		delete(c.items, key)
		c.used -= e.Value.(*cacheEntry).msg.mem
	}
}

// Len returns the number of cached messages.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Load returns the cached message for key, parsing r (of the given stored
// size) and caching the result on a miss. A nil *Cache just parses.
func (c *Cache) Load(key string, r io.ReaderAt, size int64, limits Limits) (*Message, error) {
	if c != nil {
		if m := c.Get(key); m != nil {
			return m, nil
		}
	}
	m, err := Parse(r, size, limits)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.Add(key, m)
	}
	return m, nil
}
