package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

// BenchmarkDrain measures a drain after an outage: 10,000 coupon jobs
// issued through the real client against the fake gateway with 50 ms added
// to every answer, MaxInFlight 16. efficiency is jobs/s over what 16 in
// flight at that round trip allow (16 / 50 ms = 320 jobs/s); goal ≥ 0.9.
// duplicates counts passes asked for more than once (goal 0).
//
// A request takes longer than the 50 ms added: the client and the fake
// gateway each sign with RSA-2048, on the same cores. ms/request is the
// handlers' mean time, avg-in-flight how many ran at once on average, and
// queue-efficiency is jobs/s over 16 / ms/request: what the queue makes of
// the round trip the machine gives it.
//
//	go test -run '^$' -bench Drain -benchtime 1x ./internal/queue/
func BenchmarkDrain(b *testing.B) {
	const (
		jobs        = 10_000
		maxInFlight = 16
		rtt         = 50 * time.Millisecond
	)
	for range b.N {
		b.StopTimer()
		srv := alipaytest.NewServer()
		srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{Latency: rtt})
		client, err := alipay.NewClient(srv.ClientConfig())
		if err != nil {
			b.Fatal(err)
		}
		db, _ := tempDB(b)
		q, err := New(db, Options{MaxInFlight: maxInFlight, MaxJobs: 2 * jobs})
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]Job, 0, 500)
		for i := range jobs {
			batch = append(batch, Job{Kind: "coupon", Key: fmt.Sprintf("%020d", i)})
			if len(batch) == cap(batch) {
				if _, err := q.EnqueueAll(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		var issued atomic.Int64
		all := make(chan struct{})
		var once sync.Once
		var running, inFlightSum, handlerTime atomic.Int64
		q.Handle("coupon", func(ctx context.Context, j Job) error {
			inFlightSum.Add(running.Add(1))
			defer running.Add(-1)
			began := time.Now()
			defer func() { handlerTime.Add(int64(time.Since(began))) }()
			_, err := client.PassInstanceAdd(ctx, alipay.PassInstanceAddRequest{
				TplID: "tplAny", TplParams: map[string]string{"serialNumber": j.Key},
				RecognitionInfo: alipay.RecognitionInfo{PartnerID: "2088702093900999", OutTradeNo: j.Key},
			})
			if err == nil && issued.Add(1) == jobs {
				once.Do(func() { close(all) })
			}
			return err
		})
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- q.Run(runCtx) }()
		<-all
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		dups := 0
		for _, p := range srv.Passes() {
			dups += p.Requests - 1
		}
		srv.Close()
		rate := float64(jobs) / elapsed.Seconds()
		b.ReportMetric(rate, "jobs/s")
		b.ReportMetric(rate/(maxInFlight/rtt.Seconds()), "efficiency")
		b.ReportMetric(float64(dups), "duplicates")
		perRequest := time.Duration(handlerTime.Load() / jobs)
		b.ReportMetric(float64(perRequest)/float64(time.Millisecond), "ms/request")
		b.ReportMetric(float64(inFlightSum.Load())/jobs, "avg-in-flight")
		b.ReportMetric(rate/(maxInFlight/perRequest.Seconds()), "queue-efficiency")
		b.ReportMetric(float64(len(srv.Passes())), "passes")
		b.StartTimer()
	}
}
