//go:build !race

package testutil

// RaceFactor scales memory limits in tests: 1 without the race
// detector.
const RaceFactor = 1
