package main

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers is the import graph's picture in docs/developing.md: a package
// imports only packages of lower layers. Packages not listed here (new
// rooms) are held to the two rules of TestImportGraph only.
var layers = [][]string{
	{"internal/appkey", "internal/buildinfo", "internal/dbfile", "internal/endpoint", "internal/keyfile", "internal/staffpin", "internal/winsvc"},
	{"drivers", "internal/config", "internal/httpjson", "internal/logfile", "internal/redact"},
	{"internal/event"},
	{"internal/alipay", "internal/event/eventtest", "internal/eventseq", "internal/headless", "internal/queue", "internal/scanner", "internal/ui/checkout"},
	{"internal/alipay/alipaytest", "internal/api", "internal/decode", "internal/doctor", "internal/gwhealth", "internal/payment"},
	{"internal/coupon"},
	{"internal/demo", "internal/ui"},
	{"internal/agent"},
	{"cmd/posagent"},
}

// configReaders may import internal/config: the wiring (cmd/posagent,
// internal/agent, and the demo's composition) and the settings screen,
// which edits the file itself. Every other package takes its own options.
var configReaders = []string{"cmd/posagent", "internal/agent", "internal/demo", "internal/ui"}

// TestImportGraph checks the module's import graph: configuration is read
// only where it is translated, nothing imports the wiring, and no package
// imports one of its own or a higher layer (no back-edges).
func TestImportGraph(t *testing.T) {
	const module = "posagent/"
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	layer := map[string]int{}
	for i, ps := range layers {
		for _, p := range ps {
			layer[p] = i
		}
	}
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "docs") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		from := filepath.ToSlash(rel)
		seen++
		for _, imp := range pkg.Imports {
			to, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			switch {
			case to == "internal/config" && !slices.Contains(configReaders, from):
				t.Errorf("%s imports internal/config: only %v translate the configuration", from, configReaders)
			case to == "cmd/posagent", to == "internal/agent" && from != "cmd/posagent":
				t.Errorf("%s imports the wiring %s", from, to)
			}
			lf, okf := layer[from]
			lt, okt := layer[to]
			if okf && okt && lt >= lf {
				t.Errorf("%s (layer %d) imports %s (layer %d): a back-edge", from, lf, to, lt)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < len(layer) {
		t.Errorf("walked %d packages, fewer than the %d the picture names", seen, len(layer))
	}
}
