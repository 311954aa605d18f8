// Package sievebench measures Sieve filtering at LMTP delivery: the
// fullserver (yubin's sieve package in its LMTP deliverer) against
// Dovecot's LMTP with Pigeonhole, both running the same 50-rule script
// (header, address, body and regex tests) for the same user, in the
// same run. It reports deliveries per second and CPU time per delivery
// of each server's processes.
//
//	go test -run '^$' -bench SieveLMTP -benchtime 400x ./bench/sieve
package sievebench
