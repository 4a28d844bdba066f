package queue

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/dbfile"
)

// The crash child is this test binary run again with these variables set.
const (
	crashDBEnv    = "POSAGENT_QUEUE_CRASH_DB"
	crashRoundEnv = "POSAGENT_QUEUE_CRASH_ROUND"
)

// TestCrashChild is the process TestCrash kills. It enqueues, acks, retries
// and kills jobs as fast as it can, printing one line per step to stdout:
// "E id key" after an Enqueue returned, "a id" before an ack and "A id"
// after it returned, "k id"/"K id" likewise for kill.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	say := func(format string, args ...any) {
		os.Stdout.Write([]byte(fmt.Sprintf(format, args...) + "\n")) // one write: whole line or nothing
	}
	fail := func(err error) {
		say("X %v", err)
		os.Exit(2)
	}
	db, err := dbfile.Open(path, dbfile.Options{})
	if err != nil {
		fail(err)
	}
	q, err := New(db, Options{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxJobs: 1 << 20})
	if err != nil {
		fail(err)
	}
	say("READY")
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%s-p%d-%d", round, p, i)
				j, err := q.Enqueue(context.Background(), Job{Kind: "crash", Key: key, Payload: []byte(key)})
				if err != nil {
					fail(err)
				}
				say("E %s %s", j.ID, key)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for {
				j, ok, err := q.leaseNext(context.Background())
				if err != nil {
					fail(err)
				}
				if !ok {
					continue
				}
				switch n := rand.IntN(20); {
				case n < 14:
					say("a %s", j.ID)
					if err := q.ack(context.Background(), j); err != nil {
						fail(err)
					}
					say("A %s", j.ID)
				case n < 19:
					if err := q.retry(context.Background(), j, errors.New("try again")); err != nil {
						fail(err)
					}
				default:
					say("k %s", j.ID)
					if err := q.kill(context.Background(), j, "crash test"); err != nil {
						fail(err)
					}
					say("K %s", j.ID)
				}
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a process working the queue with SIGKILL at random
// moments, again and again. After each kill: every job whose Enqueue
// returned is there (unless an ack or kill of it had begun), no job whose
// ack returned comes back, every job whose kill returned is dead, keys still
// name their jobs, and the file is consistent.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	path := filepath.Join(t.TempDir(), "crash.db")

	var (
		keyOf   = map[string]string{} // job id → key, for every job seen enqueued
		idOf    = map[string]string{} // key → job id
		acked   = map[string]bool{}   // ack returned
		acking  = map[string]bool{}   // ack begun
		killed  = map[string]bool{}   // kill returned
		killing = map[string]bool{}   // kill begun
		total   time.Duration
	)
	const rounds = 25
	for round := range rounds {
		start := time.Now()
		lines := runAndKill(t, path, round, time.Duration(5+rng.IntN(120))*time.Millisecond)
		total += time.Since(start)
		var enq, ack int
		for _, l := range lines {
			f := strings.Fields(l)
			switch f[0] {
			case "X":
				t.Fatalf("round %d: child failed: %s", round, l)
			case "E":
				keyOf[f[1]], idOf[f[2]] = f[2], f[1]
				enq++
			case "a":
				acking[f[1]] = true
			case "A":
				acked[f[1]] = true
				ack++
			case "k":
				killing[f[1]] = true
			case "K":
				killed[f[1]] = true
			}
		}

		db, err := dbfile.Open(path, dbfile.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		// A minute ahead: every retry the child scheduled is due.
		later := func() time.Time { return time.Now().Add(time.Minute) }
		q, err := New(db, Options{Now: later})
		if err != nil {
			t.Fatal(err)
		}
		pending, err1 := q.Pending()
		dead, err2 := q.Dead()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		where := map[string]State{}
		for _, j := range append(pending, dead...) {
			where[j.ID] = j.State
			if k, seen := keyOf[j.ID]; seen && k != j.Key {
				t.Errorf("round %d: job %s has key %q, was enqueued with %q", round, j.ID, j.Key, k)
			}
			if string(j.Payload) != j.Key {
				t.Errorf("round %d: job %s payload %q, want %q", round, j.ID, j.Payload, j.Key)
			}
			keyOf[j.ID], idOf[j.Key] = j.Key, j.ID // enqueued, maybe killed before it could say so
		}
		for id := range keyOf {
			st, ok := where[id]
			switch {
			case acked[id] && ok:
				t.Errorf("round %d: job %s came back (%s) after its ack returned", round, id, st)
			case killed[id] && st != StateDead && !acking[id]:
				t.Errorf("round %d: job %s is %q after its kill returned, want dead", round, id, st)
			case !ok && !acking[id] && !killing[id]:
				t.Errorf("round %d: job %s (key %s) was lost", round, id, keyOf[id])
			case !ok:
				acked[id] = true // the ack committed before the kill: it must stay gone
			}
		}
		checkConsistent(t, q)
		checkDue(t, q, pending, later())
		// Keys hold across the crash: a stored key gives its job back.
		for _, key := range []string{fmt.Sprintf("r%d-p0-0", round), fmt.Sprintf("r%d-p3-1", round)} {
			id, seen := idOf[key]
			if !seen {
				continue
			}
			j, err := q.Enqueue(context.Background(), Job{Kind: "crash", Key: key, Payload: []byte(key)})
			if err != nil || j.ID != id {
				t.Errorf("round %d: re-enqueue of key %s gave %s (%v), want job %s", round, key, j.ID, err, id)
			}
		}
		db.Close()
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("round %d: %d enqueues and %d acks returned; %d pending, %d dead", round, enq, ack, len(pending), len(dead))
	}
	t.Logf("%d rounds, %d jobs, children ran %v", rounds, len(keyOf), total.Round(time.Millisecond))
}

// checkDue checks the time indexes q rebuilt at open against the records
// in pending (all due by now): they hold every pending job in NextAt and
// deadline order, leaseNext hands the jobs out in NextAt order, and the sweep
// waits for the earliest deadline. It leases up to 50 jobs.
func checkDue(t *testing.T, q *Queue, pending []Job, now time.Time) {
	t.Helper()
	id := func(j Job) uint64 { n, _ := parseID(j.ID); return n }
	due := slices.Clone(pending)
	slices.SortFunc(due, func(a, b Job) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return cmp.Compare(id(a), id(b))
	})
	var ready, deadline timeline
	var first time.Time
	for _, j := range due {
		ready = append(ready, slot{j.NextAt.UnixNano(), id(j)})
		deadline = append(deadline, slot{j.Deadline.UnixNano(), id(j)})
		first = earliest(first, j.Deadline)
	}
	slices.SortFunc(deadline, slot.cmp)
	q.mu.Lock()
	if !slices.Equal(q.idx.ready, ready) || !slices.Equal(q.idx.deadline, deadline) {
		t.Errorf("after reopen the time indexes do not match the records:\nready    %v\nwant     %v\ndeadline %v\nwant     %v",
			q.idx.ready, ready, q.idx.deadline, deadline)
	}
	q.mu.Unlock()
	next, err := q.sweep(now)
	if err != nil || !next.Equal(first) {
		t.Errorf("after reopen the sweep waits for %v (%v), want the earliest deadline %v", next, err, first)
	}
	for i := range min(len(due), 50) {
		j, ok, err := q.leaseNext(context.Background())
		if err != nil || !ok {
			t.Fatalf("after reopen lease %d of %d due jobs: %v, %v", i, len(due), ok, err)
		}
		if j.ID != due[i].ID || !j.NextAt.Equal(due[i].NextAt) || !j.Deadline.Equal(due[i].Deadline) {
			t.Fatalf("after reopen lease %d gave job %s (next %v, deadline %v), want %s (next %v, deadline %v)",
				i, j.ID, j.NextAt, j.Deadline, due[i].ID, due[i].NextAt, due[i].Deadline)
		}
	}
}

// runAndKill runs the crash child until it has been working for after,
// kills it with SIGKILL, and returns the whole lines it printed.
func runAndKill(t *testing.T, path string, round int, after time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var lines []string
	read := make(chan error, 1)
	go func() {
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				if err == io.EOF {
					err = nil // a partial last line is not a step that returned
				}
				read <- err
				return
			}
			l = strings.TrimSuffix(l, "\n")
			if l == "READY" {
				close(ready)
				continue
			}
			lines = append(lines, l)
		}
	}()
	select {
	case <-ready:
	case err := <-read:
		cmd.Wait()
		t.Fatalf("round %d: child ended before it was ready (%v): %q", round, err, lines)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("round %d: child not ready within 30s", round)
	}
	time.Sleep(after) // the random moment of the crash: waiting for nothing but time
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return lines
}
