package api

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/event"
)

// BenchmarkScanToEvent measures how long a scan event takes from Publish to
// a client of the event stream over loopback HTTP, against the same event
// reaching an in-process bus subscriber, in one run. Each iteration
// publishes one event and waits until every client has it. Reported: p50
// and p99 of both, in ms, their p50 ratio, and p50 over the goal (sse p50 ≤
// 1.2 × bus p50 + 1 ms; ≤ 0 meets it).
//
//	go test -run '^$' -bench ScanToEvent -benchtime 2000x ./internal/api/
func BenchmarkScanToEvent(b *testing.B) {
	for _, clients := range []int{1, 100} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchScanToEvent(b, clients) })
	}
}

func benchScanToEvent(b *testing.B, clients int) {
	ts := newTestServer(b, nil)
	sent := make([]time.Time, b.N+2)
	var mu sync.Mutex
	var sse, bus []time.Duration
	got := make(chan struct{}, clients+1)

	// The in-process subscriber: the baseline.
	sub := ts.bus.Subscribe()
	defer sub.Close()
	go func() {
		for {
			e, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			d := time.Since(sent[e.Sequence()])
			mu.Lock()
			bus = append(bus, d)
			mu.Unlock()
			got <- struct{}{}
		}
	}()
	for range clients {
		s := ts.stream(b, "")
		go func() {
			for {
				line, err := s.rd.ReadString('\n')
				if err != nil {
					return
				}
				id, ok := strings.CutPrefix(line, "id: ")
				if !ok {
					continue
				}
				seq, _ := strconv.Atoi(strings.TrimSpace(id))
				d := time.Since(sent[seq])
				mu.Lock()
				sse = append(sse, d)
				mu.Unlock()
				got <- struct{}{}
			}
		}()
	}
	waitClients(b, ts, int64(clients))
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		sent[i] = time.Now()
		ts.bus.Publish(event.Scan{SenceNo: "till1-20261122-000001", CodeMasked: "28************2123", Source: "sim"})
		for range clients + 1 {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				b.Fatalf("event %d not received in 10 s", i)
			}
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	ssep50, ssep99 := quantile(sse, 0.5), quantile(sse, 0.99)
	busp50, busp99 := quantile(bus, 0.5), quantile(bus, 0.99)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ssep50), "sse-p50-ms")
	b.ReportMetric(ms(ssep99), "sse-p99-ms")
	b.ReportMetric(ms(busp50), "bus-p50-ms")
	b.ReportMetric(ms(busp99), "bus-p99-ms")
	b.ReportMetric(float64(ssep50)/float64(max(busp50, 1)), "p50-ratio")
	b.ReportMetric(ms(ssep50)-1.2*ms(busp50)-1, "p50-over-goal-ms")
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
