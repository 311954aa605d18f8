//go:build cgo

// Command shacryptbench compares yubin's SHA512-CRYPT (auth.SHACrypt)
// with the C library's crypt(3) (libxcrypt on Debian) on the same
// machine, at the default 5000 rounds, and prints the ratio (of the
// totals, and the median of per-batch ratios).
//
//	go run ./bench/auth [-n 200]
package main

/*
#cgo LDFLAGS: -lcrypt
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

static int ccrypt(const char *pw, const char *setting, char *out, int outlen) {
	struct crypt_data data;
	memset(&data, 0, sizeof data);
	char *r = crypt_r(pw, setting, &data);
	if (r == NULL || r[0] == '*') return -1;
	strncpy(out, r, outlen - 1);
	out[outlen - 1] = 0;
	return 0;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"
	"unsafe"

	"github.com/yubinmail/yubin/auth"
)

func cCrypt(pw, setting string) (string, error) {
	cpw, cset := C.CString(pw), C.CString(setting)
	defer C.free(unsafe.Pointer(cpw))
	defer C.free(unsafe.Pointer(cset))
	buf := (*C.char)(C.malloc(512))
	defer C.free(unsafe.Pointer(buf))
	if C.ccrypt(cpw, cset, buf, 512) != 0 {
		return "", fmt.Errorf("crypt(3) failed for %q", setting)
	}
	return C.GoString(buf), nil
}

func main() {
	n := flag.Int("n", 200, "hashes per implementation")
	setting := flag.String("setting", "$6$abcdefghijklmnop", "crypt setting (5000 rounds by default)")
	flag.Parse()
	const pw = "correct horse battery staple"

	want, err := cCrypt(pw, *setting)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	got, err := auth.SHACrypt(*setting, pw)
	if err != nil || got != want {
		fmt.Fprintf(os.Stderr, "mismatch: yubin %q, crypt(3) %q (%v)\n", got, want, err)
		os.Exit(1)
	}
	// Alternate the two in small batches so that load from other
	// processes and frequency changes affect both alike; the median of
	// the per-batch ratios is robust against a batch hit by a burst.
	const batch = 10
	batches := max(*n/batch, 1)
	var tGo, tC time.Duration
	ratios := make([]float64, 0, batches)
	for range batches {
		start := time.Now()
		for range batch {
			auth.SHACrypt(*setting, pw)
		}
		dGo := time.Since(start)
		start = time.Now()
		for range batch {
			cCrypt(pw, *setting)
		}
		dC := time.Since(start)
		tGo, tC = tGo+dGo, tC+dC
		ratios = append(ratios, float64(dGo)/float64(dC))
	}
	sort.Float64s(ratios)
	total := time.Duration(batches * batch)
	fmt.Printf("setting %s, %d hashes each in batches of %d\n", *setting, batches*batch, batch)
	fmt.Printf("yubin auth.SHACrypt: %v/hash\n", tGo/total)
	fmt.Printf("crypt(3):            %v/hash\n", tC/total)
	fmt.Printf("ratio of totals yubin/crypt(3): %.2f\n", float64(tGo)/float64(tC))
	fmt.Printf("median batch ratio yubin/crypt(3): %.2f\n", ratios[len(ratios)/2])
}
