//go:build race

package testutil

// RaceFactor scales memory limits in tests: the race detector keeps
// shadow memory several times the size of what it watches.
const RaceFactor = 4
