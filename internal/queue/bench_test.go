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
// over fsyncs per second: above 1 only if commits are shared.
func BenchmarkEnqueueDurable(b *testing.B) {
	for _, producers := range []int{1, 32} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			db, _ := tempDB(b)
			q, err := New(db, Options{MaxJobs: 1 << 30, MaxBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 200)
			var next atomic.Int64
			var wg sync.WaitGroup
			before := fsyncRates(b, filepath.Dir(db.Path()))
			b.ResetTimer()
			start := time.Now()
			for range producers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: strconv.FormatInt(i, 10), Payload: payload}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportFsync(b, filepath.Dir(db.Path()), before, float64(b.N)/elapsed.Seconds())
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
			before := fsyncRates(b, filepath.Dir(db.Path()))
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for {
						j, ok, err := q.Lease(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						if !ok {
							return
						}
						if err := q.Ack(ctx, j); err != nil {
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

// reportFsync reports the job rate against the raw fsync rate, measured
// just before the run and again just after it (the disk is shared; the
// mean of the two is fairer to a run than either alone).
func reportFsync(b *testing.B, dir string, before [2]float64, jobsPerSec float64) {
	after := fsyncRates(b, dir)
	appendRate, inPlaceRate := (before[0]+after[0])/2, (before[1]+after[1])/2
	b.ReportMetric(jobsPerSec, "jobs/s")
	b.ReportMetric(appendRate, "fsync/s")
	b.ReportMetric(inPlaceRate, "inplace-fsync/s")
	b.ReportMetric(jobsPerSec/appendRate, "x-fsync")
}

// fsyncRates measures, for about 200ms each in a file in dir, how many
// times a second this disk can make 200 new bytes durable: appended to a
// file and fdatasync-ed, as a log would store each job (the size changes,
// so the file system commits its metadata too: x-fsync compares against
// this), and, for reference, overwritten in place, which flushes one block
// and nothing else.
func fsyncRates(b *testing.B, dir string) (rates [2]float64) {
	for i, inPlace := range []bool{false, true} {
		f, err := os.CreateTemp(dir, "fsync")
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 200)
		n := 0
		start := time.Now()
		for ; time.Since(start) < 200*time.Millisecond || n < 50; n++ {
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
