package main

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// commandMetrics are the collectors one service's commandHook updates
// for one command name and status: its counter and its duration
// histogram.
type commandMetrics struct {
	count prometheus.Counter
	took  prometheus.Observer
}

// commandMetricsCache keeps one service's commandMetrics by the command
// name its server reports, one map per status (so that a failed child
// appears only once a command failed, as before). A POP3 session
// reports a command for each of its hundred RETRs; looking the children
// up by label values each time (lower-casing the name, joining the
// labels, hashing them under the vectors' locks) was about 2% of a POP3
// session's CPU. The names come from the servers' fixed command sets,
// so the cache stays small.
type commandMetricsCache struct {
	m          *metrics
	service    string
	ok, failed sync.Map // name -> *commandMetrics
}

func (c *commandMetricsCache) get(name string, ok bool) *commandMetrics {
	byName, status := &c.failed, "failed"
	if ok {
		byName, status = &c.ok, "ok"
	}
	if v, found := byName.Load(name); found {
		return v.(*commandMetrics)
	}
	cmd := strings.ToLower(name)
	cm := &commandMetrics{
		count: c.m.commandCounter(c.service, cmd, status),
		took:  c.m.commandTime.WithLabelValues(c.service, cmd),
	}
	v, _ := byName.LoadOrStore(name, cm)
	return v.(*commandMetrics)
}
