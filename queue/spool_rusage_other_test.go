//go:build !unix

package queue

import "time"

func spoolCPUTime() time.Duration { return 0 }

func spoolRunDelay() time.Duration { return 0 }
