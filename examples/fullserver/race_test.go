//go:build race

package main

// Under "go test -race" the server binary is built with the race
// detector too, and a data race it reports fails the test.
func init() { raceBuild = true }
