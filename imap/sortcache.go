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
	meta    map[uint32]msgMeta      // arrival and size, for incremental sorts
	orders  map[string]*sortOrder   // SORT results, by criteria
	threads map[string]*threadState // THREAD results, by algorithm
	results int                     // messages held in orders and threads
	evicted bool                    // out of the cache: no longer counted (set under sortCache.mu)
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
	if b.evicted {
		return
	}
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
		old.evicted = true
		sc.n -= len(old.keys) + old.results
		old.keys, old.meta, old.orders, old.threads, old.results = nil, nil, nil, nil, 0
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
	// Keys the store keeps, then the rest read from the messages (and
	// given to the store).
	muids := make([]uint32, len(missing))
	for j, i := range missing {
		muids[j] = items[i].uid
	}
	loaded := make([]*imapmsg.SortKeys, len(missing))
	c.storedSortKeys(muids, loaded)
	for j, i := range missing {
		k := loaded[j]
		if k == nil {
			var err error
			if k, err = c.loadSortKeys(items[i].uid); err != nil {
				return err
			}
			loaded[j] = k
			c.storeSortKeys(items[i].uid, k)
		}
		items[i].setKeys(k)
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

// heldResults accounts for n more (or, negative, fewer) messages held in
// b's kept SORT and THREAD results, evicting as added does.
func (sc *sortCache) heldResults(b *sortBox, n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.results += n
	b.mu.Unlock()
	sc.added(b, n)
}
