package scanner

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recording is a HID report sequence in hid-recorder's text format
// ("N:" name, "I:" bus vid pid, "R:" descriptor, "E:" time length bytes);
// "#" comments carry what the test expects ("# want: …").
type recording struct {
	name       string
	vid, pid   uint16
	descriptor []byte
	events     []report
	meta       map[string]string
}

type report struct {
	at   time.Duration
	data []byte
}

func readRecording(t testing.TB, path string) recording {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := recording{meta: map[string]string{}}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok {
				rec.meta[k] = v
			}
			continue
		}
		tag, rest, _ := strings.Cut(line, ": ")
		var err error
		switch tag {
		case "N":
			rec.name = rest
		case "I":
			var bus int
			_, err = fmt.Sscanf(rest, "%x %x %x", &bus, &rec.vid, &rec.pid)
		case "R":
			_, rec.descriptor, err = countedHex(strings.Fields(rest))
		case "E":
			f := strings.Fields(rest)
			if len(f) < 2 {
				err = fmt.Errorf("want time, length and bytes")
				break
			}
			var sec float64
			if sec, err = strconv.ParseFloat(f[0], 64); err != nil {
				break
			}
			var data []byte
			if _, data, err = countedHex(f[1:]); err == nil {
				rec.events = append(rec.events, report{time.Duration(sec * float64(time.Second)), data})
			}
		default:
			err = fmt.Errorf("unknown line")
		}
		if err != nil {
			t.Fatalf("%s:%d: %v", path, ln, err)
		}
	}
	return rec
}

// countedHex reads "N b1 b2 … bN".
func countedHex(f []string) (int, []byte, error) {
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, nil, err
	}
	b, err := hex.DecodeString(strings.Join(f[1:], ""))
	if err != nil {
		return 0, nil, err
	}
	if len(b) != n {
		return 0, nil, fmt.Errorf("says %d bytes, has %d", n, len(b))
	}
	return n, b, nil
}

// isPOS tells the report family from the descriptor's first usage page.
func (r recording) isPOS() bool {
	d := r.descriptor
	return len(d) >= 3 && (d[0] == 0x05 && d[1] == 0x8c || d[0] == 0x06 && d[1] == 0x8c && d[2] == 0x00)
}
