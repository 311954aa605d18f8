// Package testutil holds fixtures that the tests of every yubin package
// share: temporary homes and Maildirs, a self-signed TLS certificate for
// 127.0.0.1, a private Dovecot 2.3 instance started from a generated
// config, and RequireBinary for interop tests that need a real program.
//
// Interop tests skip with a clear message when the program they run
// against is missing. When the environment variable YUBIN_REQUIRE_INTEROP
// is set to 1 (as .ci/run does) such a skip fails the test instead, so a
// CI run cannot pass without having really talked to Dovecot or Postfix.
package testutil
