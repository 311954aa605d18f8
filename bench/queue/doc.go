// Package queuebench measures SMTP acceptance and relaying through the
// examples/fullserver binary against a private Debian Postfix 3.7 in the
// same run, with Postfix's own load generator, smtp-source(1), sending
// one message per connection.
//
// The package holds only benchmarks (go test -run '^$' -bench . ./bench/queue);
// see README.md for what they measure, the knobs and how to read the
// output. They need root (Postfix's master runs as root), Postfix,
// smtp-source and smtp-sink; fsyncs are counted with perf(1) when it is
// installed, else strace(1).
package queuebench
