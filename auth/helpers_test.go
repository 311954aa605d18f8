package auth

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"hash"
	"os"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func md5New() hash.Hash { return md5.New() }

func pbkdf2Key(h func() hash.Hash, pw string, salt []byte, iter int) ([]byte, error) {
	return pbkdf2.Key(h, pw, salt, iter, h().Size())
}
