package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"posagent/internal/queue"
	"posagent/internal/scanner"
)

func TestWriteJobsMasksCodes(t *testing.T) {
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	pending := []queue.Job{{ID: "7", Kind: "coupon", Key: "12345678901234567890", Attempts: 2, NextAt: at, Deadline: at.Add(time.Hour),
		LastError: "user 2088123412341234 said\nno"}}
	dead := []queue.Job{{ID: "9", Kind: "decode", Deadline: at, LastError: "code 286861260475412123 expired"}}
	var buf bytes.Buffer
	if err := WriteJobs(&buf, pending, dead); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"2088123412341234", "286861260475412123"} {
		if strings.Contains(out, secret) {
			t.Errorf("table shows %s in clear:\n%s", secret, out)
		}
	}
	for _, want := range []string{"2088********1234 said no", "28************2123", "1 pending, 1 dead", "coupon", "decode"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFeedKeysToWedge(t *testing.T) {
	w := scanner.NewWedge(scanner.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	out := make(chan scanner.Event, 8)
	go w.Run(ctx, out)
	const code = "286861260475412123"
	if err := FeedKeys(ctx, w, strings.NewReader(code+"\n")); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-out:
			if e.Kind == scanner.EventScan {
				if e.Scan.Code != code {
					t.Fatalf("scanned %q", e.Scan.Code)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no scan from the keys")
		}
	}
}
