package agent

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// exposed returns a warning for each of paths that users other than its
// owner may read (or, for a directory, enter): the app's private key signs
// requests as the merchant, and data_dir holds the queue, the ledger and
// the key file. Nothing on Windows, where modes do not say who may read.
func exposed(paths map[string]string) []string {
	if runtime.GOOS == "windows" {
		return nil
	}
	var out []string
	for key, p := range paths {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		want := fs.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		out = append(out, fmt.Sprintf("%s %s has mode %v: other users may read it; chmod %o %s", key, p, fi.Mode().Perm(), want, p))
	}
	return out
}
