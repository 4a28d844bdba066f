package queue

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// A record damaged on disk (one bit, a cut, a record of an unknown format)
// is moved aside at the next start, reported naming its job, never run, and
// counted by Read; the others run as before.
func TestDamagedRecordQuarantined(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(v []byte) []byte
		say    string
	}{
		{"bit flipped", func(v []byte) []byte { return flip(v, len(v)/2) }, "checksum"},
		{"cut short", func(v []byte) []byte { return v[:len(v)-9] }, "checksum"},
		{"unknown format", func(v []byte) []byte { return append([]byte{7}, v[1:]...) }, "format byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := tempDB(t)
			q, err := New(db, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var jobs []Job
			for _, key := range []string{"a", "b", "c"} {
				jobs = append(jobs, mustEnqueue(t, q, Job{Kind: "coupon", Key: key, Payload: []byte("payload " + key)}))
			}
			bad, _ := parseID(jobs[1].ID)
			err = db.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket(bucketJobs)
				return b.Put(u64(bad), tc.damage(append([]byte(nil), b.Get(u64(bad))...)))
			})
			if err != nil {
				t.Fatal(err)
			}
			var reported []error
			q, err = New(db, Options{Quarantined: func(err error) { reported = append(reported, err) }})
			if err != nil {
				t.Fatalf("New with a damaged record: %v", err)
			}
			if len(reported) != 1 || !strings.Contains(reported[0].Error(), "job "+jobs[1].ID+":") ||
				!strings.Contains(reported[0].Error(), tc.say) || !strings.Contains(reported[0].Error(), "quarantined") {
				t.Fatalf("reported %v, want job %s quarantined for its %s", reported, jobs[1].ID, tc.say)
			}
			pending, err := q.Pending()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(pending), " "); got != jobs[0].ID+" "+jobs[2].ID {
				t.Errorf("pending %s, want %s %s", got, jobs[0].ID, jobs[2].ID)
			}
			ran := make(chan string, 3)
			q.Handle("coupon", func(ctx context.Context, j Job) error { ran <- j.ID; return nil })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- q.Run(ctx) }()
			for range 2 {
				select {
				case id := <-ran:
					if id == jobs[1].ID {
						t.Errorf("the quarantined job %s ran", id)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the good jobs did not run")
				}
			}
			cancel()
			<-done
			select {
			case id := <-ran:
				t.Errorf("job %s ran after the good ones", id)
			default:
			}
			if _, _, n, err := Read(db); err != nil || n != 1 {
				t.Errorf("Read counts %d quarantined (%v), want 1", n, err)
			}
			checkConsistent(t, q)
		})
	}
}
