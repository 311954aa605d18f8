package msgauth

import (
	"crypto"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Signature verification runs on a few goroutines kept between messages.
// RSA and Ed25519 verification need more stack than a goroutine starts
// with, and a server's goroutine per connection is new for each
// message: its stack grew (copied, every frame adjusted) at every
// verification, 12 µs more CPU per RSA-2048 and 24 µs per Ed25519
// verification than on a goroutine whose stack had grown already
// (BenchmarkVerifyStack). A worker keeps its stack until the garbage
// collector shrinks an idle one, and exits after sigWorkerIdle without
// work.

// sigWorkerIdle is how long an idle worker waits for the next job.
const sigWorkerIdle = 10 * time.Second

// sigJob is one verification handed to a worker.
type sigJob struct {
	alg         string
	pub         crypto.PublicKey
	digest, sig []byte
	err         error
	done        chan struct{} // one value when err is set
}

var (
	// sigJobs is where idle workers wait: a send succeeds only when
	// one is waiting.
	sigJobs = make(chan *sigJob)
	// sigWorkers counts the running workers, at most
	// runtime.GOMAXPROCS (the work is CPU only).
	sigWorkers atomic.Int32
	sigJobPool = sync.Pool{New: func() any { return &sigJob{done: make(chan struct{}, 1)} }}
)

// verifySigPooled is verifySig on a worker goroutine: an idle one, a new
// one, or the caller's own when GOMAXPROCS workers are busy.
func verifySigPooled(alg string, pub crypto.PublicKey, digest, sig []byte) error {
	j := sigJobPool.Get().(*sigJob)
	j.alg, j.pub, j.digest, j.sig = alg, pub, digest, sig
	select {
	case sigJobs <- j:
	default:
		if n := sigWorkers.Add(1); n > int32(runtime.GOMAXPROCS(0)) {
			sigWorkers.Add(-1)
			j.err = verifySig(alg, pub, digest, sig)
			j.done <- struct{}{}
		} else {
			go sigWorker(j)
		}
	}
	<-j.done
	err := j.err
	*j = sigJob{done: j.done}
	sigJobPool.Put(j)
	return err
}

// sigWorker runs j and then the jobs it is handed until it has been
// idle for sigWorkerIdle.
func sigWorker(j *sigJob) {
	idle := time.NewTimer(sigWorkerIdle)
	defer idle.Stop()
	for {
		j.err = verifySig(j.alg, j.pub, j.digest, j.sig)
		j.done <- struct{}{}
		idle.Reset(sigWorkerIdle)
		select {
		case j = <-sigJobs:
		case <-idle.C:
			sigWorkers.Add(-1)
			return
		}
	}
}
