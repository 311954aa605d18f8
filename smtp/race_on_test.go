//go:build race

package smtp

// raceFactor scales the abuse probes' memory bounds: the race
// detector multiplies what the heap costs in resident memory.
const raceFactor = 4
