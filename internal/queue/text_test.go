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
