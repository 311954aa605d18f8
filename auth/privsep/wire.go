package privsep

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxFrame bounds one message: a user name, a password and the extra
// fields of one login fit many times over.
const MaxFrame = 64 << 10

// request is one password check.
type request struct {
	ID       uint64 `json:"id"`
	DB       string `json:"db"`
	User     string `json:"user"`
	Password string `json:"pass"`
	Service  string `json:"svc,omitempty"`
	Remote   string `json:"rip,omitempty"` // ip:port
	Local    string `json:"lip,omitempty"`
	TLS      bool   `json:"tls,omitempty"`
}

// The results of a check.
const (
	resultOK      = "ok"
	resultFail    = "fail"    // auth.ErrAuthFailed
	resultUnknown = "unknown" // auth.ErrUnknownUser
	resultTemp    = "temp"    // auth.ErrTempFail, and any other error
)

// response answers the request with the same ID.
type response struct {
	ID     uint64            `json:"id"`
	Result string            `json:"res"`
	User   string            `json:"user,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

var errFrameSize = errors.New("privsep: frame too large")

// writeFrame writes v as one frame.
func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > MaxFrame {
		return errFrameSize
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// readFrame reads one frame into v; a frame over MaxFrame is an error
// before anything of it is allocated.
func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return errFrameSize
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("privsep: short frame: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("privsep: bad frame: %w", err)
	}
	return nil
}
