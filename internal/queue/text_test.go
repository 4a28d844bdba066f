package queue

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestWriteText(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	pending := []Job{
		{ID: "7", Kind: "coupon", Key: "2026112210000001-tpl1", Attempts: 3, State: StatePending,
			NextAt: now.Add(90 * time.Second), Deadline: now.Add(6 * time.Hour), Created: now.Add(-time.Hour),
			LastError: "issue coupon: dial tcp: lookup openapi.alipay.com:\nno such host"},
		{ID: "12", Kind: "decode", State: StateRunning, NextAt: now.Add(-2 * time.Second), Deadline: now.Add(40 * time.Second), Created: now.Add(-20 * time.Second)},
	}
	dead := []Job{
		{ID: "3", Kind: "coupon", Key: "2026112209000001-tpl1", Attempts: 1, State: StateDead, Created: now.Add(-2 * time.Hour),
			LastError: "PASS_TEMPLATE_NOT_EXIST: template not found"},
	}
	for _, tc := range []struct {
		name          string
		pending, dead []Job
	}{
		{"jobs", pending, dead},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteText(&buf, tc.pending, tc.dead, now); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "text_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("WriteText:\n%s\nwant (%s):\n%s", buf.Bytes(), golden, want)
			}
		})
	}
}

func TestQueueWriteText(t *testing.T) {
	q, clock, _ := newTestQueue(t, Options{})
	mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-9", Payload: []byte("28763443825664394")})
	if err := q.Kill(ctx, mustLease(t, q), "PASS_TEMPLATE_NOT_EXIST"); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, q, Job{Kind: "decode", NextAt: clock.Now().Add(time.Minute), Deadline: clock.Now().Add(time.Hour)})
	var buf bytes.Buffer
	if err := q.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"PENDING (1)", "decode  pending  0         in 1m0s  in 1h0m0s", "DEAD (1)", "serial-9  PASS_TEMPLATE_NOT_EXIST"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("28763443825664394")) {
		t.Errorf("listing shows a payload:\n%s", out)
	}
}
