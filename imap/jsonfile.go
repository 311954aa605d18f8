package imap

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/internal/atomicfile"
)

// loadJSONFile reads the JSON value v from path; a missing file leaves v
// as it is (empty).
func loadJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// saveJSONFile writes v to path as JSON, atomically and synced, mode
// 0600; mkdir makes the directory first.
func saveJSONFile(path string, v any, mkdir bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if mkdir {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	return atomicfile.Write(path, data, 0o600, atomicfile.NoOwner)
}
