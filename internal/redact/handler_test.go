package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Every way text reaches a log line is masked: the message, strings,
// errors, values of any type, groups, attributes bound with With.
func TestHandlerMasksEveryValue(t *testing.T) {
	const code, user = "286861260475412123", "2088123412341234"
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil))).With("bound", "user "+user)
	quoting := fmt.Errorf("decode: 40004 (DECODE_FAILED 码%s无效)", code)
	log.Error("failed for "+user, "err", quoting, "msg", "sub_msg "+code, "any", []string{code},
		slog.Group("g", "inner", code), "wrapped", errors.Join(quoting), "n", 42)
	out := buf.String()
	for _, secret := range []string{code, user} {
		if strings.Contains(out, secret) {
			t.Errorf("log line holds %s:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"28************2123", "2088********1234", "n=42", "DECODE_FAILED"} {
		if !strings.Contains(out, kept) {
			t.Errorf("log line lacks %q:\n%s", kept, out)
		}
	}
}
