package headless

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"posagent/internal/event"
)

func TestPrintsLinesUntilClosed(t *testing.T) {
	bus := event.NewBus()
	sub := bus.Subscribe()
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	bus.Publish(event.Scan{Stamp: event.Stamp{Time: at}, CodeMasked: "28************2123", Source: "sim"})
	bus.Publish(event.Gateway{Stamp: event.Stamp{Time: at}, State: event.GatewayDown})
	bus.Close()
	var out bytes.Buffer
	if err := Print(context.Background(), sub, &out); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	for i, want := range []string{"scan", "gateway"} {
		var m map[string]any
		if err := json.Unmarshal(lines[i], &m); err != nil || m["type"] != want || m["time"] == nil {
			t.Errorf("line %d = %s (%v), want type %s", i, lines[i], err, want)
		}
	}
}

func TestPrintStopsOnContext(t *testing.T) {
	bus := event.NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Print(ctx, bus.Subscribe(), &bytes.Buffer{}); err != context.Canceled {
		t.Fatalf("Print = %v, want context.Canceled", err)
	}
}

// Reasons and messages quoting a code or a user id leave masked (the bus
// masks them at Publish); the structured fields integrations read stay
// whole.
func TestPrintMasksFreeText(t *testing.T) {
	const code, user = "286861260475412123", "2088123412341234"
	bus := event.NewBus()
	sub := bus.Subscribe()
	bus.Publish(event.Queued{JobID: "1", Kind: "decode", Reason: "SYSTEM_ERROR 码" + code + "无效"})
	bus.Publish(event.Dead{JobID: "2", Kind: "coupon", Reason: "user " + user + " not found"})
	bus.Publish(event.Decoded{SenceNo: "s", UserID: user, UserIDMasked: "2088********1234"})
	bus.Publish(event.CouponIssued{TplID: "t", SerialNumber: "14589356150380718977", PassID: "2099100000000001"})
	bus.Close()
	var out bytes.Buffer
	if err := Print(context.Background(), sub, &out); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(out.Bytes(), []byte("\n"))
	for i, l := range lines[:2] {
		if bytes.Contains(l, []byte(code)) || bytes.Contains(l, []byte(user)) {
			t.Errorf("line %d holds a code or user id: %s", i, l)
		}
	}
	if !bytes.Contains(lines[0], []byte("28************2123")) {
		t.Errorf("masked reason missing: %s", lines[0])
	}
	for i, want := range map[int]string{2: `"user_id":"` + user + `"`, 3: `"serial_number":"14589356150380718977"`} {
		if !bytes.Contains(lines[i], []byte(want)) {
			t.Errorf("line %d lost %s: %s", i, want, lines[i])
		}
	}
}
