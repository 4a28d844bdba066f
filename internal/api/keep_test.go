package api

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"posagent/internal/dbfile"
	"posagent/internal/queue"
)

// A job the queue keeps (a payment's cancel) is refused with 409 and the
// reason; it stays queued.
func TestDropKeptJob(t *testing.T) {
	db, err := dbfile.Open(filepath.Join(t.TempDir(), "posagent.db"), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := queue.New(db, queue.Options{Keep: func(kind string) string {
		if kind == "payment_cancel" {
			return "it is a payment's cancel"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := q.Enqueue(context.Background(), queue.Job{Kind: "payment_cancel", Key: "payment_cancel/sale-1"})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.Queue = q })
	st, _, body := ts.do(t, "DELETE", "/v1/queue/"+j.ID, "")
	if st != 409 || errorCode(body) != "conflict" || !strings.Contains(body, "payment's cancel") || !strings.Contains(body, "payment_cancel") {
		t.Errorf("DELETE of a payment cancel: %d %s, want 409 naming the kind and why", st, body)
	}
	if p, _, _ := q.Stats(); p != 1 {
		t.Errorf("%d pending after the refused drop, want 1", p)
	}
}
