//go:build race

package restrict

// raceSlowdown scales time bounds: the race detector makes the code
// it watches several times slower.
const raceSlowdown = 10
