package managesieve

import (
	"encoding/base64"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

var timeNow = time.Now

const benchDeadline = 20 * time.Second
