package queue

import "time"

// Entry is one message as the queue listing shows it (postqueue -p).
type Entry struct {
	ID string
	// Queue is "active" (being delivered or about to be), "deferred",
	// "hold", or "incoming" (accepted, not yet looked at).
	Queue   string
	Size    int64
	Arrival time.Time
	From    string
	// Recipients are the recipients not yet delivered or bounced.
	Recipients []EntryRecipient
}

// EntryRecipient is a recipient in the queue listing with the reason of
// its last deferral ("" when it has not been tried).
type EntryRecipient struct {
	Addr   string
	Reason string
}

// Stats are the queue's counters for metrics.
type Stats struct {
	// Messages in each queue ("active", "deferred", "hold", "incoming").
	Messages map[string]int
	// Bytes of message content in each queue.
	Bytes map[string]int64
	// OldestArrival is the arrival time of the oldest message, zero when
	// the queue is empty.
	OldestArrival time.Time
	// Sent, Deferred and Bounced count recipient outcomes since start;
	// Enqueued counts accepted messages.
	Sent, Deferred, Bounced, Enqueued int64
}

// Admin is what the queue offers its operators, as Postfix's postqueue
// and postsuper do: list, flush, hold, release, delete and requeue.
// *Queue implements it; ServeControl exposes it on a socket. An id of
// "ALL" means every message.
type Admin interface {
	List() []Entry
	Flush()
	Hold(id string) (int, error)
	Release(id string) (int, error)
	Delete(id string) (int, error)
	Requeue(id string) (int, error)
}
