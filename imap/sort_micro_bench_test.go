package imap

import (
	"fmt"
	"testing"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
)

// benchItems makes n sort items with keys like writeBenchMaildir's.
func benchItems(n int) []sortItem {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	items := make([]sortItem, n)
	for i := range items {
		subj, _ := imapmsg.BaseSubject(fmt.Sprintf("Re: topic %d", (i*31)%5000))
		k := &imapmsg.SortKeys{Date: base.Add(time.Duration((i*7919)%(4*365*24*60)) * time.Minute), HasDate: true,
			Subject: subj, From: fmt.Sprintf("USER%d", i%997), MessageID: fmt.Sprintf("m%d@bench", i)}
		if i%3 != 0 && i > 0 {
			k.References = []string{fmt.Sprintf("m%d@bench", i-1-(i*31)%min(i, 50))}
		}
		items[i] = sortItem{uid: uint32(i + 1), seq: uint32(i + 1), size: int64(100 + i%1000), arrival: base.Add(time.Duration(i) * time.Minute).Unix()}
		items[i].setKeys(k)
	}
	return items
}

// BenchmarkSortThreadCPU is the in-memory part of SORT and THREAD over
// 100,000 cached messages (no I/O, no wire).
func BenchmarkSortThreadCPU(b *testing.B) {
	items := benchItems(100000)
	work := make([]sortItem, len(items))
	for _, tc := range []struct {
		name string
		crit []sortCriterion
	}{
		{"date", []sortCriterion{{key: "DATE"}}},
		{"reverse-arrival", []sortCriterion{{key: "ARRIVAL", reverse: true}}},
		{"subject", []sortCriterion{{key: "SUBJECT"}}},
		{"from-date", []sortCriterion{{key: "FROM"}, {key: "DATE"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				copy(work, items)
				sortMessages(work, tc.crit)
			}
		})
	}
	b.Run("thread-references", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			threadReferences(items)
		}
	})
	b.Run("thread-orderedsubject", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			threadOrderedSubject(items)
		}
	})
}
