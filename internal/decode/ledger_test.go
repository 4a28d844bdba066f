package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newLedger(t testing.TB, path, terminal string) (*Ledger, *bbolt.DB) {
	t.Helper()
	db := openDB(t, path)
	l, err := NewLedger(db, terminal, testKey)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return l, db
}

// noon on 22 Nov 2026 in Beijing is still the 22nd in UTC; 23:30 UTC on the
// 21st is already the 22nd in Beijing.
var (
	t0     = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	lateUT = time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
)

func TestLedgerSameCodeSameSenceNo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	l, db := newLedger(t, path, "store12-till3")
	a, first, err := l.Assign("286861260475412123", t0)
	if err != nil || !first {
		t.Fatalf("first Assign = %+v, %v, %v; want a new entry", a, first, err)
	}
	again, first, err := l.Assign("286861260475412123", t0.Add(10*time.Second))
	if err != nil || first || again != a {
		t.Fatalf("rescan = %+v, first %v, %v; want %+v, not first", again, first, err, a)
	}
	other, first, err := l.Assign("286861260475419999", t0)
	if err != nil || !first || other.SenceNo == a.SenceNo {
		t.Fatalf("other code = %+v, %v, %v; want a new sence_no, not %q", other, first, err, a.SenceNo)
	}
	db.Close()

	// After a restart the code keeps its number and new codes continue the sequence.
	l, db = newLedger(t, path, "store12-till3")
	defer db.Close()
	restarted, first, err := l.Assign("286861260475412123", t0.Add(time.Minute))
	if err != nil || first || restarted != a {
		t.Fatalf("after restart = %+v, first %v, %v; want %+v", restarted, first, err, a)
	}
	third, _, err := l.Assign("286861260475410000", t0)
	if err != nil || third.SenceNo == a.SenceNo || third.SenceNo == other.SenceNo {
		t.Fatalf("third code after restart = %+v, %v: repeats an earlier sence_no", third, err)
	}
}

// Reserve hands out the sence_no before its commit is over; durable waits
// for that commit, as often as asked, and a code seen before is durable at
// once.
func TestLedgerReserve(t *testing.T) {
	l, db := newLedger(t, filepath.Join(t.TempDir(), "posagent.db"), "till3")
	defer db.Close()
	e, first, durable, err := l.Reserve("286861260475412123", t0)
	if err != nil || !first || e.SenceNo == "" {
		t.Fatalf("Reserve = %+v, %v, %v; want a new entry", e, first, err)
	}
	for range 2 {
		if err := durable(); err != nil {
			t.Fatalf("durable: %v", err)
		}
	}
	if got, ok, err := l.Lookup("286861260475412123"); !ok || err != nil || got != e {
		t.Fatalf("after durable, Lookup = %+v, %v, %v; want %+v", got, ok, err, e)
	}
	again, first, durable, err := l.Reserve("286861260475412123", t0.Add(time.Second))
	if err != nil || first || again != e || durable() != nil {
		t.Fatalf("rescan = %+v, first %v, %v; want %+v, durable at once", again, first, err, e)
	}
}

func TestLedgerSenceNoForm(t *testing.T) {
	tests := []struct {
		terminal string
		at       time.Time
		prefix   string
	}{
		{"till3", t0, "till3-20261122-"},
		{"till3", lateUT, "till3-20261122-"}, // Beijing date, not UTC
		{strings.Repeat("T", 32), t0, strings.Repeat("T", 32) + "-20261122-"},
	}
	for _, tt := range tests {
		t.Run(tt.terminal[:5], func(t *testing.T) {
			l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), tt.terminal)
			defer db.Close()
			e, _, err := l.Assign("286861260475412123", tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.SenceNo, tt.prefix) || len(e.SenceNo) > MaxSenceNo {
				t.Errorf("sence_no %q: want prefix %q and at most %d characters", e.SenceNo, tt.prefix, MaxSenceNo)
			}
		})
	}
}

func TestLedgerTwoDatabasesNeverCollide(t *testing.T) {
	// A reinstalled terminal (a new database file and key file) starts
	// its sequence again; the per-key tag keeps its numbers apart from the
	// old ones.
	dir := t.TempDir()
	seen := map[string]bool{}
	for i := range 2 {
		db := openDB(t, filepath.Join(dir, fmt.Sprint(i)))
		l, err := NewLedger(db, "till3", bytes.Repeat([]byte{byte(i)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			e, _, err := l.Assign(fmt.Sprintf("2868612604754%05d", j), t0)
			if err != nil {
				t.Fatal(err)
			}
			if seen[e.SenceNo] {
				t.Errorf("sence_no %s issued twice", e.SenceNo)
			}
			seen[e.SenceNo] = true
		}
		db.Close()
	}
}

// A database moved aside as damaged and made anew keeps the key file: the
// new database's sequence starts at 1 again on the same day, and its
// numbers must still differ from the old one's (a sence_no pays once and
// names the coupons' serials). The tag comes from a nonce made with each
// database; reopening one keeps it.
func TestLedgerNewDatabaseSameKeyNeverCollides(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	assign := func(path string) string {
		db := openDB(t, path)
		defer db.Close()
		l, err := NewLedger(db, "till3", key)
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := l.Assign("286861260475412123", t0)
		if err != nil {
			t.Fatal(err)
		}
		return e.SenceNo
	}
	first := assign(filepath.Join(dir, "a"))
	if again := assign(filepath.Join(dir, "a")); again != first {
		t.Errorf("reopened: %s, want %s again", again, first)
	}
	if other := assign(filepath.Join(dir, "b")); other == first {
		t.Errorf("a new database with the same key issued %s again", other)
	}
}

func TestLedgerKeepsNoCodeInClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l, db := newLedger(t, path, "till3")
	const code = "286861260475412123"
	if _, _, err := l.Assign(code, t0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(code)) {
		t.Fatal("the database file holds the payment code in clear")
	}
}

func TestLedgerPurge(t *testing.T) {
	l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), "till3")
	defer db.Close()
	old, _, _ := l.Assign("286861260475400001", t0.Add(-2*DefaultKeep))
	fresh, _, _ := l.Assign("286861260475400002", t0)
	n, err := l.Purge(t0.Add(-DefaultKeep))
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1 entry", n, err)
	}
	if _, ok, _ := l.Lookup("286861260475400001"); ok {
		t.Error("purged code still known")
	}
	if e, ok, _ := l.Lookup("286861260475400002"); !ok || e != fresh {
		t.Errorf("fresh code = %+v, %v; want %+v", e, ok, fresh)
	}
	// A purged code seen again is a new code with a new number.
	again, first, _ := l.Assign("286861260475400001", t0)
	if !first || again.SenceNo == old.SenceNo {
		t.Errorf("purged code again = %+v, first %v; want a new sence_no", again, first)
	}
}

func TestNewLedgerRejects(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	defer db.Close()
	for _, term := range []string{"", strings.Repeat("x", 100)} {
		if _, err := NewLedger(db, term, testKey); err == nil {
			t.Errorf("NewLedger(%q): no error", term)
		}
	}
}

// An entry damaged on disk is moved aside at the next open, reported, and
// never used; an entry in the format before checksums still reads.
func TestLedgerDamagedEntryQuarantined(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	l, db := newLedger(t, path, "till")
	const damaged, old, good = "286861260475412123", "286861260475413333", "286861260475419999"
	var entries [3]Entry
	for i, code := range []string{damaged, old, good} {
		e, _, err := l.Assign(code, t0)
		if err != nil {
			t.Fatal(err)
		}
		entries[i] = e
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		codes := tx.Bucket([]byte(Bucket)).Bucket(keyCodes)
		v := append([]byte(nil), codes.Get(l.key(damaged))...)
		v[5] ^= 0x01 // a bit of the time
		if err := codes.Put(l.key(damaged), v); err != nil {
			return err
		}
		// As versions before checksums wrote it.
		legacy := binary.BigEndian.AppendUint64(nil, uint64(entries[1].FirstSeen.UnixMilli()))
		return codes.Put(l.key(old), append(legacy, entries[1].SenceNo...))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, db = newLedger(t, path, "till")
	defer db.Close()
	if d := l.Damaged(); len(d) != 1 || !strings.Contains(d[0].Error(), "checksum") || !strings.Contains(d[0].Error(), "quarantined") {
		t.Errorf("Damaged() = %v, want one entry quarantined for its checksum", d)
	}
	if e, ok, err := l.Lookup(damaged); ok || err != nil {
		t.Errorf("the damaged entry is still used: %+v, %v, %v", e, ok, err)
	}
	for i, code := range []string{old, good} {
		if e, ok, err := l.Lookup(code); !ok || err != nil || e != entries[i+1] {
			t.Errorf("Lookup(%s) = %+v, %v, %v; want %+v", code, e, ok, err, entries[i+1])
		}
	}
}

// testKey stands for the local key file's key.
var testKey = bytes.Repeat([]byte{7}, 32)

// A database from before the key file holds entries hashed with a key kept
// beside them: they are dropped, with that key, at the first open, and
// the sequence goes on.
func TestLedgerForgetsEntriesOfTheKeyInTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	l, db := newLedger(t, path, "till")
	first, _, err := l.Assign("286861260475412123", t0)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte(Bucket)).Put(keySalt, bytes.Repeat([]byte{1}, 32)) })
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, db = newLedger(t, path, "till")
	defer db.Close()
	if l.Forgot() != 1 {
		t.Errorf("Forgot() = %d, want 1", l.Forgot())
	}
	err = db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte(Bucket)).Get(keySalt) != nil {
			t.Error("the old key is still in the database")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, isNew, err := l.Assign("286861260475412123", t0)
	if err != nil || !isNew || e.SenceNo == first.SenceNo || !strings.HasSuffix(e.SenceNo, "000002") {
		t.Errorf("Assign after = %+v, %v, %v; want a new entry continuing the sequence", e, isNew, err)
	}
}

// A sealed code opens only with its key and for its sence_no.
func TestLedgerSeal(t *testing.T) {
	dir := t.TempDir()
	l, db := newLedger(t, filepath.Join(dir, "a.db"), "till")
	defer db.Close()
	const code = "286861260475412123"
	sealed := l.Seal(code, "s-1")
	if bytes.Contains(sealed, []byte(code)) {
		t.Fatal("sealed code holds the code")
	}
	if got, err := l.Unseal(sealed, "s-1"); err != nil || got != code {
		t.Errorf("Unseal = %q, %v; want %q", got, err, code)
	}
	if _, err := l.Unseal(sealed, "s-2"); err == nil {
		t.Error("Unseal for another sence_no succeeded")
	}
	db2 := openDB(t, filepath.Join(dir, "b.db"))
	defer db2.Close()
	other, err := NewLedger(db2, "till", bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Unseal(sealed, "s-1"); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Errorf("Unseal with another key: %v, want an error naming the key file", err)
	}
}
