// Package msgauthbench measures what msgauth's inbound checks (SPF, DKIM,
// DMARC, ARC at the end of DATA) cost the examples/fullserver binary per
// accepted message: two fullserver processes, one with
// msgauth_inbound_checks = yes and one without, take turns under the
// same smtp-source load; the server processes' CPU per message is read
// from /proc/PID/stat and the throughput is the messages per second
// from smtp-source's start until all are delivered. DNS comes from a
// private nsd.
//
//	go test -v -run '^$' -bench BenchmarkInboundChecksCPU -benchtime 1x ./bench/msgauth
//
// MSGAUTH_BENCH_ROUNDS (default 5) is the number of rounds,
// MSGAUTH_BENCH_MESSAGES (default 2000) the messages per server, kind
// and round, MSGAUTH_BENCH_SESSIONS (default 10) smtp-source's parallel
// sessions, MSGAUTH_BENCH_KINDS (default signed,ed25519,unsigned) the
// messages sent. MSGAUTH_BENCH_PROFILE=PREFIX writes the servers' CPU
// profiles (YUBIN_CPUPROFILE, examples/fullserver/cpuprofile.go) to
// PREFIX-on.prof and PREFIX-off.prof, for go tool pprof -diff_base.
// MSGAUTH_BENCH_BASE_BIN=PATH loads a third server, a fullserver built
// elsewhere (before a change), with the checks on, in the same rounds:
//
//	go build -o /tmp/fs-base ./examples/fullserver   # before the change
//	MSGAUTH_BENCH_BASE_BIN=/tmp/fs-base go test -v -run '^$' -bench BenchmarkInboundChecksCPU -benchtime 1x ./bench/msgauth
package msgauthbench
