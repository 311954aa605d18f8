//go:build race

package auth

// raceEnabled is true under -race, where pure-Go bcrypt and Argon2 run
// many times slower; tests then skip redundant expensive checks.
const raceEnabled = true
