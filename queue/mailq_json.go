package queue

import (
	"bufio"
	"encoding/json"
	"io"
)

// mailqJSON is one message of "postqueue -j" (Postfix 3.1 and later).
type mailqJSON struct {
	QueueName    string          `json:"queue_name"`
	QueueID      string          `json:"queue_id"`
	ArrivalTime  int64           `json:"arrival_time"`
	MessageSize  int64           `json:"message_size"`
	ForcedExpire bool            `json:"forced_expire"`
	Sender       string          `json:"sender"`
	Recipients   []mailqJSONRcpt `json:"recipients"`
}

type mailqJSONRcpt struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason,omitempty"`
}

// WriteMailqJSON writes entries as Postfix's "postqueue -j" does, for
// programs: one JSON object per line with queue_name, queue_id,
// arrival_time (Unix seconds), message_size, forced_expire, sender
// ("" for the null sender) and recipients (address, and delay_reason
// when the recipient was deferred).
func WriteMailqJSON(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range entries {
		m := mailqJSON{QueueName: e.Queue, QueueID: e.ID, ArrivalTime: e.Arrival.Unix(), MessageSize: e.Size,
			Sender: e.From, Recipients: make([]mailqJSONRcpt, 0, len(e.Recipients))}
		for _, r := range e.Recipients {
			m.Recipients = append(m.Recipients, mailqJSONRcpt{Address: r.Addr, DelayReason: r.Reason})
		}
		if err := enc.Encode(&m); err != nil {
			return err
		}
	}
	return bw.Flush()
}
