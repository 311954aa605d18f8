package imap

import (
	"container/list"
	"errors"
	"sync"

	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/store"
)

// DefaultSortCacheMessages is the number of messages whose SORT and
// THREAD keys the server keeps when Server.SortCacheMessages is 0.
const DefaultSortCacheMessages = 500000

// sortCache keeps the SORT/THREAD keys of messages, per mailbox, shared
// by every session: what Dovecot keeps in its index's sort data. A
// message's keys never change under one UIDVALIDITY, so entries need no
// invalidation; whole mailboxes are evicted, least recently used first,
// when the total passes the limit.
type sortCache struct {
	max int

	mu    sync.Mutex
	n     int // messages held
	lru   *list.List
	boxes map[string]*list.Element
}

// sortBox holds one mailbox's keys by UID.
type sortBox struct {
	key     string
	mu      sync.Mutex
	keys    map[uint32]*imapmsg.SortKeys
	results map[string]sortResult // by criteria
}

func (s *Server) sortCache() *sortCache {
	s.sortOnce.Do(func() {
		max := s.SortCacheMessages
		if max == 0 {
			max = DefaultSortCacheMessages
		}
		s.sorts = &sortCache{max: max, lru: list.New(), boxes: map[string]*list.Element{}}
	})
	return s.sorts
}

// box returns the mailbox's entry, creating it.
func (sc *sortCache) box(key string) *sortBox {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if e, ok := sc.boxes[key]; ok {
		sc.lru.MoveToFront(e)
		return e.Value.(*sortBox)
	}
	b := &sortBox{key: key, keys: map[uint32]*imapmsg.SortKeys{}}
	sc.boxes[key] = sc.lru.PushFront(b)
	return b
}

// added accounts for n new entries of b and evicts other mailboxes (the
// least recently used first) while the total is above the limit.
func (sc *sortCache) added(b *sortBox, n int) {
	if sc.max < 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.n += n
	for sc.n > sc.max {
		e := sc.lru.Back()
		if e == nil {
			return
		}
		old := e.Value.(*sortBox)
		if old == b {
			// The mailbox being sorted stays; it alone may pass the
			// limit until the next eviction.
			if sc.lru.Len() == 1 {
				return
			}
			sc.lru.MoveToFront(e)
			continue
		}
		sc.lru.Remove(e)
		delete(sc.boxes, old.key)
		old.mu.Lock()
		sc.n -= len(old.keys)
		old.keys, old.results = nil, nil
		old.mu.Unlock()
	}
}

// sortItem is one message taking part in a SORT or THREAD.
type sortItem struct {
	uid, seq uint32
	size     int64
	arrival  int64 // internal date, Unix seconds
	modseq   uint64
	date     int64 // sent date (Date:, else the internal date), Unix seconds
	pos      int32 // index in UID order among the matches
	keys     *imapmsg.SortKeys
}

// sentDate is the date SORT DATE and THREAD use: the Date: header, or
// the internal date when it has none (RFC 5256 2.2).
func (it *sortItem) sentDate() int64 { return it.date }

// setKeys attaches a message's keys and derives its sent date.
func (it *sortItem) setKeys(k *imapmsg.SortKeys) {
	it.keys = k
	it.date = it.arrival
	if k.HasDate {
		it.date = k.Date.Unix()
	}
}

// sortItems returns the messages of the view matching key, in UID order,
// with their sort keys (from the cache, or read from the messages'
// headers and cached). needKeys false leaves keys nil (ARRIVAL and SIZE
// need none).
func (c *conn) sortItems(key *searchKey, needKeys bool) ([]sortItem, error) {
	items := make([]sortItem, 0, c.sel.view.count())
	err := c.runSearch(key, func(m *store.MessageInfo, seq uint32) error {
		items = append(items, sortItem{uid: m.UID, seq: seq, size: m.Size, arrival: m.InternalDate.Unix(), modseq: m.ModSeq, pos: int32(len(items))})
		return nil
	})
	if err != nil || !needKeys {
		return items, err
	}
	return items, c.attachSortKeys(items)
}

// selectedSortBox is the sort cache's entry of the selected mailbox.
func (c *conn) selectedSortBox() (*sortCache, *sortBox) {
	sc := c.srv.sortCache()
	return sc, sc.box(c.user + "\x00" + c.sel.name + "\x00" + itoa(c.sel.uidValidity))
}

// attachSortKeys gives items their sort keys, from the cache or read
// from the messages' headers (and then cached).
func (c *conn) attachSortKeys(items []sortItem) error {
	sc, box := c.selectedSortBox()
	var missing []int
	box.mu.Lock()
	if box.keys == nil {
		box.keys = map[uint32]*imapmsg.SortKeys{}
	}
	for i := range items {
		if k := box.keys[items[i].uid]; k != nil {
			items[i].setKeys(k)
		} else {
			missing = append(missing, i)
		}
	}
	box.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	loaded := make([]*imapmsg.SortKeys, 0, len(missing))
	for _, i := range missing {
		k, err := c.loadSortKeys(items[i].uid)
		if err != nil {
			return err
		}
		items[i].setKeys(k)
		loaded = append(loaded, k)
	}
	box.mu.Lock()
	if box.keys != nil {
		for j, i := range missing {
			box.keys[items[i].uid] = loaded[j]
		}
	}
	box.mu.Unlock()
	sc.added(box, len(missing))
	return nil
}

// maxSortResults bounds the SORT results kept per mailbox.
const maxSortResults = 8

// sortResult is a SORT's order (UIDs) kept for the same criteria over
// the same messages: a message's sort keys never change, so the order
// of the same set of UIDs stays right until the set changes. Webmail
// repeats one SORT on every view of a folder.
type sortResult struct {
	n     int
	sum   uint64  // fingerprint of the UIDs sorted
	order []int32 // positions in UID order, in sort order
}

// uidFingerprint is a hash of the UIDs of items (in UID order).
func uidFingerprint(items []sortItem) uint64 {
	h := uint64(14695981039346656037)
	for i := range items {
		h ^= uint64(items[i].uid)
		h *= 1099511628211
	}
	return h
}

// cachedSortOrder puts items (in UID order) in the order a previous SORT
// with the same criteria gave the same messages, and reports whether
// there was one.
func (c *conn) cachedSortOrder(crit string, items []sortItem) bool {
	_, box := c.selectedSortBox()
	box.mu.Lock()
	res, ok := box.results[crit]
	box.mu.Unlock()
	if !ok || res.n != len(items) || res.sum != uidFingerprint(items) {
		return false
	}
	sorted := make([]sortItem, len(items))
	for i, p := range res.order {
		sorted[i] = items[p]
	}
	copy(items, sorted)
	return true
}

// keepSortOrder remembers the order of a SORT (items sorted; sum is the
// fingerprint of the UIDs taken before sorting).
func (c *conn) keepSortOrder(crit string, sum uint64, items []sortItem) {
	order := make([]int32, len(items))
	for i := range items {
		order[i] = items[i].pos
	}
	_, box := c.selectedSortBox()
	box.mu.Lock()
	defer box.mu.Unlock()
	if box.results == nil || len(box.results) >= maxSortResults {
		box.results = map[string]sortResult{}
	}
	box.results[crit] = sortResult{n: len(items), sum: sum, order: order}
}

// loadSortKeys reads a message's header (from the parse cache when it is
// there) and extracts its sort keys. A message whose file went away
// sorts with empty keys, as Dovecot sorts one it cannot read.
func (c *conn) loadSortKeys(uid uint32) (*imapmsg.SortKeys, error) {
	if p := c.srv.cache().Get(c.messageKey(uid)); p != nil {
		return imapmsg.SortKeysOf(p.Root.Header), nil
	}
	r, err := c.sel.mb.Open(c.ctx(), uid)
	if errors.Is(err, store.ErrNoSuchMessage) {
		return &imapmsg.SortKeys{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h, err := imapmsg.ReadHeader(r, r.Size(), c.srv.MessageLimits)
	if err != nil {
		return nil, err
	}
	return imapmsg.SortKeysOf(h), nil
}
