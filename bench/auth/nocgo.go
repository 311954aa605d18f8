//go:build !cgo

package main

import (
	"fmt"
	"os"
)

// Without cgo there is no crypt(3) to compare with.
func main() {
	fmt.Fprintln(os.Stderr, "shacryptbench needs cgo (CGO_ENABLED=1, a C compiler and libcrypt)")
	os.Exit(2)
}
