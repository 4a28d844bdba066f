package agent

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// No file under data_dir holds a payment code in clear at any instant of a
// flow: not the ledger (a keyed hash), not a decode waiting in the queue
// through an outage (sealed with the key file's key), not a freed page. The
// files are read at every event, from the scan to the coupons and after
// the stop.
func TestNoPaymentCodeInDataDir(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	scan := make(feed)
	a := newAgent(t, srv, dir, scan)
	w := start(t, a)
	noCode := func(code, when string) {
		t.Helper()
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(code)) {
				t.Errorf("%s: %s holds the payment code %s", when, path, code)
			}
			return nil
		})
	}
	var codes []string
	// every reads the files at each event until ok accepts one.
	every := func(what string, ok func(event.Event) bool) {
		t.Helper()
		w.until(what, func(e event.Event) bool {
			for _, c := range codes {
				noCode(c, "at "+string(e.Type()))
			}
			return ok(e)
		})
	}
	// A decode queued through an outage, then done.
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Drop: true})
	codes = append(codes, srv.IssueCode(student.UserID))
	scan <- codes[0]
	every("queued decode", isType(event.TypeQueued))
	srv.ClearFaults()
	every("decoded after the outage", ended)
	w.reach("two coupons", 2, isType(event.TypeCouponIssued))
	// One decoded at once, and rescanned.
	codes = append(codes, srv.IssueCode(plain.UserID))
	scan <- codes[1]
	every("decoded", ended)
	every("its coupon", isType(event.TypeCouponIssued))
	scan <- codes[1]
	every("rescan decoded", ended)
	for _, c := range codes {
		noCode(c, "at the end")
	}
}
