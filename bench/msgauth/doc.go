// Package msgauthbench measures what msgauth's inbound checks (SPF, DKIM,
// DMARC, ARC at the end of DATA) cost the examples/fullserver binary per
// accepted message: two fullserver processes, one with
// msgauth_inbound_checks = yes and one without, take turns under the
// same smtp-source load, and the server processes' CPU per message is
// read from /proc/PID/stat. DNS comes from a private nsd.
//
//	go test -v -run '^$' -bench BenchmarkInboundChecksCPU -benchtime 5x ./bench/msgauth
//
// MSGAUTH_BENCH_MESSAGES (default 2000) is the number of messages per
// server and round, MSGAUTH_BENCH_SESSIONS (default 10) smtp-source's
// parallel sessions, MSGAUTH_BENCH_KINDS (default signed,unsigned) the
// messages sent.
package msgauthbench
