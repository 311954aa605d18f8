//go:build race

package pop3

// raceEnabled is set in builds with the race detector: socketIO then
// tells it of the happens-before edges that package syscall's reads and
// writes announce (see raceRead, raceWrite).
const raceEnabled = true
