package queue

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// WriteMailqJSON writes entries as Postfix 3.7's "postqueue -j" does,
// for programs: one JSON object per line, with Postfix's key order and
// spacing:
//
//	{"queue_name": "deferred", "queue_id": "4A1B2C3D4E", "arrival_time": 1796621630, "message_size": 2310, "forced_expire": false, "sender": "taro@example.jp", "recipients": [{"address": "hanako@example.net", "delay_reason": "connect to ..."}]}
//
// arrival_time is in Unix seconds, the null sender is "MAILER-DAEMON",
// delay_reason is present only for a recipient that was deferred, and
// addresses are quoted and control characters shown as "?" as in
// WriteMailq.
func WriteMailqJSON(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	for _, e := range entries {
		sender := quoteLocal(e.From)
		if sender == "" {
			sender = "MAILER-DAEMON"
		}
		bw.WriteString(`{"queue_name": `)
		writeJSONString(bw, e.Queue)
		bw.WriteString(`, "queue_id": `)
		writeJSONString(bw, e.ID)
		bw.WriteString(`, "arrival_time": `)
		bw.WriteString(strconv.FormatInt(e.Arrival.Unix(), 10))
		bw.WriteString(`, "message_size": `)
		bw.WriteString(strconv.FormatInt(e.Size, 10))
		bw.WriteString(`, "forced_expire": false, "sender": `)
		writeJSONString(bw, sender)
		bw.WriteString(`, "recipients": [`)
		for i, r := range e.Recipients {
			if i > 0 {
				bw.WriteString(", ")
			}
			bw.WriteString(`{"address": `)
			writeJSONString(bw, quoteLocal(r.Addr))
			if r.Reason != "" {
				bw.WriteString(`, "delay_reason": `)
				writeJSONString(bw, r.Reason)
			}
			bw.WriteString("}")
		}
		bw.WriteString("]}\n")
	}
	return bw.Flush()
}

// writeJSONString writes s as a JSON string, its control characters
// shown as "?" (as showq(8) shows them), without the HTML escapes of
// encoding/json's default ("<" stays "<", as in Postfix's output).
func writeJSONString(w *bufio.Writer, s string) {
	s = printable(s)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
