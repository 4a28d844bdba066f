// Package redact masks personal data before it reaches a log, an event or the
// screen. A payment code is a bearer token for about a minute and a user_id is
// personal data: neither may appear in full anywhere posagent writes.
package redact

import "strings"

// Code masks a payment code (dynamic_id), keeping the first two and the last
// four characters: "28************1234". The prefix tells a cashier what kind of
// code it was; the tail tells two scans apart. Codes too short to keep both
// ends with at least half hidden are masked whole.
func Code(s string) string { return keep(s, 2, 4) }

// UserID masks an Alipay user_id, keeping the "2088" prefix and the last four
// digits: "2088********1234".
func UserID(s string) string { return keep(s, 4, 4) }

// keep works on runes so that masking arbitrary scanner input never splits a
// UTF-8 sequence.
func keep(s string, head, tail int) string {
	r := []rune(s)
	n := len(r)
	if n < 2*(head+tail) {
		return strings.Repeat("*", n)
	}
	return string(r[:head]) + strings.Repeat("*", n-head-tail) + string(r[n-tail:])
}

// DigitRuns masks, in free text, every run of 16 to 24 ASCII digits: a run of
// 16 from "2088" as a user_id, any other as a payment code. It is for text
// that posagent did not write itself, such as the last error of a queued job,
// which quotes whatever the gateway answered: such a run may be a payment code
// or a user_id, and the screens that show the text cannot know which fields
// it came from. Shorter runs (amounts, dates, codes like 40004) stay as they
// are.
func DigitRuns(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		switch run := string(b[i:j]); {
		case len(run) == 16 && strings.HasPrefix(run, "2088"):
			copy(b[i:j], UserID(run))
		case len(run) >= 16 && len(run) <= 24:
			copy(b[i:j], Code(run))
		}
		if j == i {
			j++
		}
		i = j
	}
	return string(b)
}

// Text masks every run of 16 or more ASCII digits in free text that leaves
// the process (an event's reason or message): runs of 16 to 24 as
// DigitRuns does, longer ones whole, since a payment code or user_id may
// sit inside a longer run that a gateway message glued together.
func Text(s string) string {
	b := []byte(DigitRuns(s))
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i > 24 {
			for k := i; k < j; k++ {
				b[k] = '*'
			}
		}
		i = max(j, i+1)
	}
	return string(b)
}

// Line masks digit runs as DigitRuns does and folds s onto one line, for
// showing an error in a table row: errors quote what the gateway answered,
// which may carry a payment code or a user id, and may span lines.
func Line(s string) string {
	return strings.Join(strings.Fields(DigitRuns(s)), " ")
}
