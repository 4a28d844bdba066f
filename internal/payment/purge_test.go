package payment

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/dbfile"
	"posagent/internal/event"
)

// Purge deletes final payments older than Keep with their index entries;
// open ones, however old, recent ones and unreadable ones stay, and a
// sence_no's entry that names a later payment is left to it.
func TestPurge(t *testing.T) {
	svc := idleService(t)
	const day = 24 * time.Hour
	old, recent := time.Now().Add(-DefaultKeep-day), time.Now().Add(-DefaultKeep+day)
	rec := func(otn, sence, state string, created time.Time) Record {
		return Record{OutTradeNo: otn, SenceNo: sence, AmountFen: 100, Subject: "x", State: state, Created: created, Updated: created}
	}
	for _, r := range []Record{
		rec("old-paid", "S1", event.PaymentPaid, old),
		rec("old-failed", "S2", event.PaymentFailed, old.Add(time.Second)),
		// S2 was paid again later: its index entry is this one's.
		rec("old-paid-again", "S2", event.PaymentPaid, old.Add(2*time.Second)),
		rec("old-open", "S3", event.PaymentCancelling, old),
		rec("recent-paid", "S4", event.PaymentPaid, recent),
	} {
		if err := svc.st.put(&r); err != nil {
			t.Fatal(err)
		}
	}
	bad := rec("old-bad", "S5", event.PaymentPaid, old)
	v, err := encodeRecord(&bad)
	if err != nil {
		t.Fatal(err)
	}
	v[len(v)-2] ^= 1
	if err := svc.st.db.Update(func(tx *bbolt.Tx) error { return putTx(tx, &bad, v) }); err != nil {
		t.Fatal(err)
	}

	n, err := svc.Purge()
	if err != nil || n != 3 {
		t.Fatalf("Purge: %d, %v; want 3 (old-paid, old-failed, old-paid-again)", n, err)
	}
	for _, otn := range []string{"old-paid", "old-failed", "old-paid-again"} {
		if p, err := svc.Get(otn); err == nil {
			t.Errorf("%s still there after the purge: %+v", otn, p)
		}
	}
	if _, err := svc.Get("old-bad"); err == nil {
		t.Error("the unreadable one reads after the purge")
	}
	ps, err := svc.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range ps {
		left = append(left, p.OutTradeNo)
	}
	if !slices.Equal(left, []string{"recent-paid", "old-open"}) {
		t.Errorf("List after the purge: %v, want recent-paid, old-open", left)
	}
	err = svc.st.db.View(func(tx *bbolt.Tx) error {
		for sence, want := range map[string]string{"S1": "", "S2": "", "S3": "old-open", "S4": "recent-paid", "S5": "old-bad"} {
			if got := string(tx.Bucket(bucketBySence).Get([]byte(sence))); got != want {
				t.Errorf("sence index %s → %q, want %q", sence, got, want)
			}
		}
		if n := tx.Bucket(bucketCreated).Stats().KeyN; n != 3 {
			t.Errorf("%d age index entries, want 3 (old-open, old-bad, recent-paid)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Purge(); err != nil || n != 0 {
		t.Errorf("second Purge: %d, %v; want 0", n, err)
	}
}

// idleService is a Service on a new database file, with Run never called:
// what is stored stays as stored.
func idleService(t testing.TB) *Service {
	t.Helper()
	db, err := dbfile.Open(filepath.Join(t.TempDir(), "posagent.db"), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := &Service{st: store{db}, o: Options{Keep: DefaultKeep, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if err := svc.st.init(); err != nil {
		t.Fatal(err)
	}
	return svc
}

// putMany stores the records rec(0) … rec(n-1) in one commit.
func putMany(t testing.TB, db *bbolt.DB, n int, rec func(i int) Record) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		for i := range n {
			r := rec(i)
			v, err := encodeRecord(&r)
			if err != nil {
				return err
			}
			if err := putTx(tx, &r, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// More old final payments than one commit deletes are all purged.
func TestPurgeInBatches(t *testing.T) {
	st := idleService(t).st
	db := st.db
	old := time.Now().Add(-2 * DefaultKeep)
	const total = 2*purgeBatch + 7
	putMany(t, db, total, func(i int) Record {
		return Record{OutTradeNo: fmt.Sprintf("p%05d", i), SenceNo: fmt.Sprintf("S%05d", i), State: event.PaymentPaid, Created: old.Add(time.Duration(i))}
	})
	if n, err := st.purge(time.Now().Add(-DefaultKeep)); err != nil || n != total {
		t.Fatalf("purge: %d, %v; want %d", n, err, total)
	}
}

// A database from before the age index gets it at the first start: its
// payments are listed, newest first.
func TestAgeIndexBuiltForOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	db, err := dbfile.Open(path, dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(bucketPayments)
		if err != nil {
			return err
		}
		for i, otn := range []string{"a", "b", "c"} {
			r := Record{OutTradeNo: otn, SenceNo: "S" + otn, State: event.PaymentPaid, Created: now.Add(time.Duration(3-i) * time.Second)}
			v, err := encodeRecord(&r)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(otn), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	e := newEnv(t, envOpts{dbPath: path})
	ps, err := e.svc.List(Filter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].OutTradeNo != "a" || ps[1].OutTradeNo != "b" {
		t.Errorf("List of an old database: %+v, want a, b", ps)
	}
}

// Payments an older version stored without an index entry (a rollback,
// then this version again) get one at the next start; an entry that names
// no record, or a record by another time, is purged.
func TestAgeIndexRebuiltWhenIncomplete(t *testing.T) {
	svc := idleService(t)
	now := time.Now()
	if err := svc.st.put(&Record{OutTradeNo: "indexed", SenceNo: "S1", State: event.PaymentPaid, Created: now}); err != nil {
		t.Fatal(err)
	}
	// What an older version writes: the record and its sence_no only.
	unindexed := Record{OutTradeNo: "unindexed", SenceNo: "S2", State: event.PaymentPaid, Created: now.Add(time.Second)}
	v, err := encodeRecord(&unindexed)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.st.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketPayments).Put([]byte(unindexed.OutTradeNo), v); err != nil {
			return err
		}
		return tx.Bucket(bucketCreated).Put(createdKey(now.Add(-2*DefaultKeep), "gone"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.st.init(); err != nil {
		t.Fatal(err)
	}
	ps, err := svc.List(Filter{})
	if err != nil || len(ps) != 2 || ps[0].OutTradeNo != "unindexed" || ps[1].OutTradeNo != "indexed" {
		t.Fatalf("List after the restart: %+v, %v; want unindexed, indexed", ps, err)
	}
	// A stale entry (the record is indexed by another time) is dropped by
	// the purge, and lists nothing twice meanwhile.
	err = svc.st.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCreated).Put(createdKey(now.Add(-2*DefaultKeep), "indexed"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ps, _ := svc.List(Filter{}); len(ps) != 2 {
		t.Fatalf("a stale entry lists a payment twice: %+v", ps)
	}
	if n, err := svc.Purge(); err != nil || n != 0 {
		t.Fatalf("Purge: %d, %v; want no payment purged (both are recent)", n, err)
	}
	svc.st.db.View(func(tx *bbolt.Tx) error {
		if n := tx.Bucket(bucketCreated).Stats().KeyN; n != 2 {
			t.Errorf("%d index entries after the purge, want 2", n)
		}
		return nil
	})
}

// BenchmarkList lists the newest 10 payments from a database of n: the
// age index makes it independent of n.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{1_000, 30_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			svc := idleService(b)
			db := svc.st.db
			start := time.Now().Add(-time.Duration(n) * time.Minute)
			putMany(b, db, n, func(i int) Record {
				at := start.Add(time.Duration(i) * time.Minute)
				return Record{OutTradeNo: fmt.Sprintf("otn-%07d", i), SenceNo: fmt.Sprintf("S%07d", i), AmountFen: 1234, Subject: "groceries",
					State: event.PaymentPaid, TradeNo: "2026120322001400001234567890", Created: at, Updated: at}
			})
			b.ResetTimer()
			for b.Loop() {
				if ps, err := svc.List(Filter{Limit: 10}); err != nil || len(ps) != 10 {
					b.Fatal(len(ps), err)
				}
			}
		})
	}
}

// BenchmarkInit is the start's check of the age index, with 30,000
// payments kept (about 90 days of a busy till).
func BenchmarkInit(b *testing.B) {
	svc := idleService(b)
	start := time.Now()
	putMany(b, svc.st.db, 30_000, func(i int) Record {
		at := start.Add(time.Duration(i) * time.Minute)
		return Record{OutTradeNo: fmt.Sprintf("otn-%07d", i), SenceNo: fmt.Sprintf("S%07d", i), AmountFen: 1234, Subject: "groceries",
			State: event.PaymentPaid, TradeNo: "2026120322001400001234567890", Created: at, Updated: at}
	})
	for b.Loop() {
		if err := svc.st.init(); err != nil {
			b.Fatal(err)
		}
	}
}
