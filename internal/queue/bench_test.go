package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueueDurable measures durable enqueues (each on disk when it
// returns) and, in the same run on the same disk, the raw fsync rate:
// appending 200 bytes and fdatasync-ing them. x-fsync is jobs per second
// over fsyncs per second: above 1 only if commits are shared. pages/commit
// is how many pages bbolt wrote per commit (the meta page included),
// ops/commit how many enqueues shared one.
//
// The baseline is measured in slices between slices of the queue's run
// (interleaved, 8 of each), not once before and once after: this machine's
// disk is shared, and a baseline taken apart from the run it is compared
// with made x-fsync swing from 8 to 12 between runs.
//
// One producer cannot reach 1: every bbolt commit syncs twice (the data
// pages, then the meta page that makes them current; one sync for both
// would let a crash leave a meta page naming pages never written). Against
// the appending baseline that caps it at about 0.5; it comes out a little
// above because a commit's syncs rewrite blocks in place, which is cheaper
// than an append (inplace-fsync/s).
func BenchmarkEnqueueDurable(b *testing.B) {
	const slices = 8
	for _, producers := range []int{1, 32} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			db, _ := tempDB(b)
			q, err := New(db, Options{MaxJobs: 1 << 30, MaxBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 200)
			var next atomic.Int64
			dir := filepath.Dir(db.Path())
			var base [2]float64
			var queueTime time.Duration
			w0, c0 := writes(q)
			b.ResetTimer()
			for s := range slices {
				b.StopTimer()
				r := fsyncRates(b, dir, 50*time.Millisecond)
				base[0], base[1] = base[0]+r[0]/slices, base[1]+r[1]/slices
				b.StartTimer()
				end := int64(b.N) * int64(s+1) / slices
				start := time.Now()
				var wg sync.WaitGroup
				for range producers {
					wg.Go(func() {
						for i := next.Add(1); i <= end; i = next.Add(1) {
							if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: strconv.FormatInt(i, 10), Payload: payload}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				// The producer that overshot end left next one past it.
				next.Store(end)
				queueTime += time.Since(start)
			}
			b.StopTimer()
			reportWrites(b, q, w0, c0)
			jobsPerSec := float64(b.N) / queueTime.Seconds()
			b.ReportMetric(jobsPerSec, "jobs/s")
			b.ReportMetric(base[0], "fsync/s")
			b.ReportMetric(base[1], "inplace-fsync/s")
			b.ReportMetric(jobsPerSec/base[0], "x-fsync")
		})
	}
}

// BenchmarkLeaseAck measures the worker side: lease a ready job and ack it
// (a durable commit), with one worker and with four.
func BenchmarkLeaseAck(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db, _ := tempDB(b)
			q, err := New(db, Options{MaxJobs: 1 << 30, MaxBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			fill(b, q, b.N)
			var wg sync.WaitGroup
			before := fsyncRates(b, filepath.Dir(db.Path()), 200*time.Millisecond)
			w0, c0 := writes(q)
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for {
						j, ok, err := q.leaseNext(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						if !ok {
							return
						}
						if err := q.ack(ctx, j); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if p, _, _ := q.Stats(); p != 0 {
				b.Fatalf("%d jobs left", p)
			}
			reportWrites(b, q, w0, c0)
			reportFsync(b, filepath.Dir(db.Path()), before, float64(b.N)/elapsed.Seconds())
		})
	}
}

// fill enqueues n jobs from 32 producers.
func fill(b *testing.B, q *Queue, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: strconv.FormatInt(i, 10), Payload: make([]byte, 200)}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// writes returns the pages bbolt has written so far (a write call per page
// or run of overflow pages, the meta page included) and the queue's commits.
func writes(q *Queue) (pages int64, commits int) {
	q.c.mu.Lock()
	defer q.c.mu.Unlock()
	st := q.db.Stats()
	return st.TxStats.GetWrite(), q.c.commits
}

// reportWrites reports the commits since writes returned w0, c0: how many
// pages each wrote, and how many ops shared each.
func reportWrites(b *testing.B, q *Queue, w0 int64, c0 int) {
	w, c := writes(q)
	if c == c0 {
		return
	}
	b.ReportMetric(float64(w-w0)/float64(c-c0), "pages/commit")
	b.ReportMetric(float64(b.N)/float64(c-c0), "ops/commit")
}

// reportFsync reports the job rate against the raw fsync rate, measured
// just before the run and again just after it (the disk is shared; the
// mean of the two is fairer to a run than either alone).
func reportFsync(b *testing.B, dir string, before [2]float64, jobsPerSec float64) {
	after := fsyncRates(b, dir, 200*time.Millisecond)
	appendRate, inPlaceRate := (before[0]+after[0])/2, (before[1]+after[1])/2
	b.ReportMetric(jobsPerSec, "jobs/s")
	b.ReportMetric(appendRate, "fsync/s")
	b.ReportMetric(inPlaceRate, "inplace-fsync/s")
	b.ReportMetric(jobsPerSec/appendRate, "x-fsync")
}

// fsyncRates measures, for about d each in a file in dir, how many
// times a second this disk can make 200 new bytes durable: appended to a
// file and fdatasync-ed, as a log would store each job (the size changes,
// so the file system commits its metadata too: x-fsync compares against
// this), and, for reference, overwritten in place, which flushes one block
// and nothing else.
func fsyncRates(b *testing.B, dir string, d time.Duration) (rates [2]float64) {
	for i, inPlace := range []bool{false, true} {
		f, err := os.CreateTemp(dir, "fsync")
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 200)
		n := 0
		start := time.Now()
		for ; time.Since(start) < d || n < 10; n++ {
			buf[0] = byte(n)
			off := int64(n) * 200
			if inPlace {
				off = 0
			}
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
			if err := datasync(f); err != nil {
				b.Fatal(err)
			}
		}
		rates[i] = float64(n) / time.Since(start).Seconds()
		f.Close()
		os.Remove(f.Name())
	}
	return rates
}
