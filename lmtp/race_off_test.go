//go:build !race

package lmtp

// raceFactor scales the abuse probes' memory bounds (see race_on_test.go).
const raceFactor = 1
