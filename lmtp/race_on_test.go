//go:build race

package lmtp

// raceFactor scales the abuse probes' memory bounds: the race
// detector multiplies what the heap costs in resident memory.
const raceFactor = 4
