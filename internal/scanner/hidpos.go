package scanner

import "fmt"

// HID POS (usage page 0x8C) scanned-data reports, in the layout Honeywell
// and most others use for a 64-byte report:
//
//	[0]      report ID (2: scanned data)
//	[1]      number of data bytes in this report (0–56)
//	[2:5]    AIM symbology identifier, e.g. "]Q1" (zeros when disabled)
//	[5:61]   data
//	[61:63]  vendor symbology id (ignored)
//	[63]     bit 0: more reports follow with the rest of the data
//
// A code longer than one report, or a scanner that fragments, spans
// several reports; only the last has bit 0 clear.
const (
	posReportID    = 0x02
	posHeader      = 5
	posMaxData     = 56
	posReportSize  = 64
	posFlagMore    = 0x01
	posFlagsOffset = 63
)

// posDecoder assembles codes from HID POS reports. Its buffer has a fixed
// size: a code that would outgrow it is counted and dropped.
type posDecoder struct {
	buf      []byte
	max      int
	sym      [3]byte
	hasSym   bool
	n        int // data bytes of the current code, including dropped ones
	overflow bool
}

func newPOSDecoder(max int) *posDecoder {
	return &posDecoder{buf: make([]byte, 0, max), max: max}
}

// posCode is one assembled code. data aliases the decoder's buffer until the
// next decode.
type posCode struct {
	sym     []byte // AIM identifier or nil
	data    []byte
	tooLong bool
	n       int
}

// decode takes one report. It returns a code when the report completes one,
// and an error for a report that cannot be read, which also drops any part
// of a code collected so far: a code with a piece missing is never emitted.
func (d *posDecoder) decode(r []byte) (posCode, bool, error) {
	if len(r) < posHeader {
		d.reset()
		return posCode{}, false, fmt.Errorf("HID POS report of %d bytes, want at least %d", len(r), posHeader)
	}
	if r[0] != posReportID {
		return posCode{}, false, nil // another report (status, attributes): not data
	}
	n := int(r[1])
	if n > posMaxData || posHeader+n > len(r) {
		d.reset()
		return posCode{}, false, fmt.Errorf("HID POS report says %d data bytes, has room for %d", n, min(posMaxData, len(r)-posHeader))
	}
	if d.n == 0 && isAIM(r[2:5]) {
		copy(d.sym[:], r[2:5])
		d.hasSym = true
	}
	for _, c := range r[posHeader : posHeader+n] {
		d.n++
		if len(d.buf) == d.max {
			d.overflow = true
			continue
		}
		d.buf = append(d.buf, c)
	}
	if len(r) > posFlagsOffset && r[posFlagsOffset]&posFlagMore != 0 {
		return posCode{}, false, nil
	}
	if d.n == 0 {
		return posCode{}, false, nil // an empty report: nothing was read
	}
	c := posCode{data: d.buf, tooLong: d.overflow, n: d.n}
	if d.hasSym {
		c.sym = d.sym[:]
	}
	d.buf = d.buf[:0]
	d.n = 0
	d.overflow = false
	d.hasSym = false
	return c, true, nil
}

// reset drops a partly assembled code.
func (d *posDecoder) reset() {
	d.buf = d.buf[:0]
	d.n = 0
	d.overflow = false
	d.hasSym = false
}
