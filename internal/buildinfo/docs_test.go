package buildinfo

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The versions the docs show (the started event, GET /v1/status) are in
// the form Short writes, for this tree's Base.
func TestDocsShowShortVersions(t *testing.T) {
	form := regexp.MustCompile(`^` + regexp.QuoteMeta(Base) + `(-dev)? \(([0-9a-f]{12}|unknown commit)(\+dirty)?\)$`)
	for _, i := range []Info{{Version: Base + "-dev"}, {Version: Base, Commit: strings.Repeat("3f9c2a1b7d04", 4)[:40]},
		{Version: Base + "-dev", Commit: "3f9c2a1b7d04ffff", Modified: true}} {
		if !form.MatchString(i.Short()) {
			t.Fatalf("Short() = %q, not in the form the docs are checked against", i.Short())
		}
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	shown := regexp.MustCompile(`"version":\s*"([^"]*)"`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range shown.FindAllStringSubmatch(string(b), -1) {
			n++
			if !form.MatchString(m[1]) {
				t.Errorf("%s shows version %q; posagent writes e.g. %q", f, m[1], Info{Version: Base + "-dev"}.Short())
			}
		}
		if strings.Contains(string(b), "devel-<commit>") {
			t.Errorf("%s describes the version as devel-<commit>", f)
		}
	}
	if n == 0 {
		t.Fatal("no version shown in the docs")
	}
}
