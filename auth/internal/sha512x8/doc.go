// Package sha512x8 computes eight independent SHA-512 compressions at
// once: the core of SHA512-CRYPT verification for several logins in
// parallel.
//
// A State holds eight lanes; Blocks compresses, for each lane, its own
// number of 128-byte blocks from its own part of a message buffer.
// Lanes that need fewer blocks than others keep their state while the
// others go on, so messages of different lengths share one call. The
// caller pads messages as FIPS 180-4 §5.1.2 says.
//
// On amd64 with AVX-512 (F and BW) the eight lanes are the eight 64-bit
// elements of the ZMM registers (block_amd64.s, written by gen_asm.go);
// elsewhere a pure-Go loop computes the lanes one after the other, with
// the same results. Accelerated tells the two apart, so that callers
// batch work only where batching pays.
//
// Implementation notes: the assembly gathers each message word of the
// eight lanes with one VPGATHERQQ from the lane offsets, byte-swaps it
// with VPSHUFB, keeps the sixteen-word schedule and the eight working
// variables in registers (VPRORQ for the rotations, VPTERNLOGQ for Ch,
// Maj and the three-way XORs) and adds the result into the state under
// the lane mask, so masked lanes are neither read nor written.
package sha512x8
