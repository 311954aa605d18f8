package imapmsg

import (
	"strings"
	"testing"
)

func TestCacheLRU(t *testing.T) {
	msgs := make([]*Message, 4)
	for i := range msgs {
		msgs[i] = &Message{mem: 100}
	}
	per := int64(100)
	c := NewCache(3 * per)
	c.Add("a", msgs[0])
	c.Add("b", msgs[1])
	c.Add("c", msgs[2])
	if c.Get("a") != msgs[0] { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Add("d", msgs[3]) // evicts b, the least recently used
	if c.Get("b") != nil {
		t.Error("b not evicted")
	}
	if c.Get("a") == nil || c.Get("d") == nil {
		t.Error("recent entries evicted")
	}
	c.Remove("a")
	if c.Get("a") != nil || c.Len() > 2 {
		t.Errorf("Remove left %d entries", c.Len())
	}
	big := &Message{mem: 10 * per}
	c.Add("big", big)
	if c.Get("big") != nil {
		t.Error("message larger than the budget kept")
	}
}

// TestCacheLoad parses on a miss and returns the same *Message on a hit.
func TestCacheLoad(t *testing.T) {
	c := NewCache(0)
	msg := corpus[1].msg
	m1, err := c.Load("k", strings.NewReader(msg), int64(len(msg)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.Load("k", errReaderAt{}, int64(len(msg)), Limits{})
	if err != nil || m2 != m1 {
		t.Fatalf("second Load reparsed: %v", err)
	}
	var nilCache *Cache
	if _, err := nilCache.Load("k", strings.NewReader(msg), int64(len(msg)), Limits{}); err != nil {
		t.Fatal(err)
	}
}
