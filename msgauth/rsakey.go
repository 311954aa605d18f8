package msgauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"errors"

	"filippo.io/bigmod"
)

// rsaKey is a DKIM RSA public key (a key record's k=rsa) with its
// modulus made ready for verification once, when the record is parsed:
// crypto/rsa rebuilds the modulus's Montgomery constants at every
// verification, a third of an RSA-2048 verification's CPU, and a
// KeyCache keeps the parsed key (so the constants) between messages.
// filippo.io/bigmod is the package crypto/rsa's own arithmetic comes
// from (crypto/internal/fips140/bigmod), published on its own.
type rsaKey struct {
	pub *rsa.PublicKey
	n   *bigmod.Modulus // nil: verify with crypto/rsa
}

func newRSAKey(pub *rsa.PublicKey) *rsaKey {
	k := &rsaKey{pub: pub}
	// The keys crypto/rsa verifies with; it refuses the others (even
	// modulus, even or out-of-range exponent, beyond 16384 bits), and
	// they keep going to it so that its refusal stays the verdict.
	bits := pub.N.BitLen()
	if pub.N.Bit(0) == 1 && bits >= 1024 && bits <= 16384 && pub.E >= 3 && pub.E&1 == 1 && pub.E <= 1<<31-1 {
		if n, err := bigmod.NewModulus(pub.N.Bytes()); err == nil {
			k.n = n
		}
	}
	return k
}

// sha256DigestInfo is the DER prefix of a SHA-256 DigestInfo (RFC 8017
// section 9.2, note 1).
var sha256DigestInfo = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

var errRSAVerify = errors.New("crypto/rsa: verification error")

// verifyPKCS1v15SHA256 is rsa.VerifyPKCS1v15(k.pub, crypto.SHA256,
// digest, sig) (RFC 8017 section 8.2.2) on the prepared modulus: the
// same steps as crypto/internal/fips140/rsa's verifyPKCS1v15.
func (k *rsaKey) verifyPKCS1v15SHA256(digest, sig []byte) error {
	if k.n == nil {
		return rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, digest, sig)
	}
	if len(digest) != 32 {
		return errors.New("crypto/rsa: input must be hashed message")
	}
	size := k.n.Size()
	tLen := len(sha256DigestInfo) + len(digest)
	if len(sig) != size || size < tLen+11 {
		return errRSAVerify
	}
	s, err := bigmod.NewNat().SetBytes(sig, k.n)
	if err != nil {
		return errRSAVerify // s >= n
	}
	em := bigmod.NewNat().ExpShortVarTime(s, uint(k.pub.E), k.n).Bytes(k.n)
	// EM = 0x00 || 0x01 || PS (0xff) || 0x00 || DigestInfo || digest.
	want := make([]byte, size)
	want[1] = 1
	for i := 2; i < size-tLen-1; i++ {
		want[i] = 0xff
	}
	copy(want[size-tLen:], sha256DigestInfo)
	copy(want[size-len(digest):], digest)
	if subtle.ConstantTimeCompare(em, want) != 1 {
		return errRSAVerify
	}
	return nil
}
