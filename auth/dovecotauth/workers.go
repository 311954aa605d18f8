package dovecotauth

import (
	"sync"
	"time"
)

// workerIdle is how long a request goroutine waits for the next request
// before it ends: between one and two of these, as the idle check runs
// once per workerIdle rather than re-arming a timer (a lock and a clock
// read) at every request.
const workerIdle = 10 * time.Second

// workers runs requests on goroutines that outlive one request: a
// request handed to an idle one does not pay for a new goroutine and
// the growth of its stack (the SASL exchange, the passdb and the log
// use tens of kilobytes), which costs as much as a cached login itself.
type workers struct {
	once     sync.Once
	work     chan func()
	quit     chan struct{} // closed by stop: idle workers end
	stopOnce sync.Once
}

func (w *workers) init() {
	w.once.Do(func() { w.work, w.quit = make(chan func()), make(chan struct{}) })
}

// stop ends the idle workers; busy ones end after their request.
func (w *workers) stop() {
	w.init()
	w.stopOnce.Do(func() { close(w.quit) })
}

// run runs fn on an idle worker, or on a new one.
func (w *workers) run(fn func()) {
	w.init()
	select {
	case w.work <- fn:
	default:
		go w.loop(fn)
	}
}

func (w *workers) loop(fn func()) {
	fn()
	t := time.NewTicker(workerIdle)
	defer t.Stop()
	busy := false // a request ran since the last tick
	for {
		select {
		case fn := <-w.work:
			fn()
			busy = true
		case <-t.C:
			if !busy {
				return
			}
			busy = false
		case <-w.quit:
			return
		}
	}
}
