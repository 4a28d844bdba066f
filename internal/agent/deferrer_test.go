package agent

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"posagent/internal/dbfile"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// The deferrer reports a job the real queue still runs as live, and one it
// only remembers (done, or dead) as over, so that the decode flow never
// promises a retry that will not run.
func TestDeferrerReportsEndedJobs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result error
	}{
		{"done", nil},
		{"dead", queue.Permanent(errors.New("final"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := dbfile.Open(filepath.Join(t.TempDir(), "db"), dbfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			opts := fastQueue
			opts.KeepDone = time.Hour
			q, err := queue.New(db, opts)
			if err != nil {
				t.Fatal(err)
			}
			ran := make(chan struct{})
			q.Handle("k", func(ctx context.Context, j queue.Job) error {
				<-ran
				return tc.result
			})
			d := deferrer{q}
			ctx := context.Background()
			deadline := time.Now().Add(time.Minute)
			deferS1 := func() bool {
				t.Helper()
				live, err := d.Defer(ctx, "k", "S1", event.Subject{SenceNo: "S1"}, []byte("{}"), deadline)
				if err != nil {
					t.Fatal(err)
				}
				return live
			}
			if !deferS1() {
				t.Fatal("new job not live")
			}
			if !deferS1() {
				t.Fatal("pending job not live")
			}
			rctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- q.Run(rctx) }()
			defer func() {
				stop()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			close(ran)
			// Wait, with a deadline, for the queue to record the job's end.
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			timeout := time.After(10 * time.Second)
			for deferS1() {
				select {
				case <-tick.C:
				case <-timeout:
					t.Fatal("job still live after it ended")
				}
			}
			if pending, _, err := q.Stats(); pending != 0 || err != nil {
				t.Errorf("an ended key stored a job: %d pending, %v", pending, err)
			}
		})
	}
}
