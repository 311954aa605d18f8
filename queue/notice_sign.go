package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// signedNotice returns a notice the queue wrote, with the header
// fields SignNotice gives prepended (a DKIM signature for the host's
// domain, so that receivers that check DKIM and DMARC accept the
// bounce). id is the message the notice is about, for the log.
func (q *Queue) signedNotice(id string, buf *bytes.Buffer) io.Reader {
	if q.SignNotice == nil {
		return buf
	}
	ctx, cancel := context.WithTimeout(context.Background(), noticeSignTimeout)
	defer cancel()
	fields, err := q.SignNotice(ctx, buf.Bytes())
	if err != nil {
		q.log.Warn(fmt.Sprintf("%s: notice not signed: %v", id, err), "service", "bounce")
		return buf
	}
	return io.MultiReader(strings.NewReader(fields), buf)
}

// noticeSignTimeout bounds SignNotice (it may read keys).
const noticeSignTimeout = 10 * time.Second
