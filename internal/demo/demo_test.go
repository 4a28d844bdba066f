package demo

import (
	"os"
	"regexp"
	"testing"

	"posagent/internal/alipay"
)

// paymentCode is the shape of an Alipay payment code, as the scanner
// checks it.
var paymentCode = regexp.MustCompile(`^(2[5-9]|30)[0-9]{14,22}$`)

func TestSetup(t *testing.T) {
	for _, speed := range []float64{1, 1000} {
		d, err := Setup(t.TempDir(), speed)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Config.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := alipay.NewClientFromFiles(alipay.Options{GatewayURL: d.Config.GatewayURL, AppID: d.Config.AppID, AppPrivateKey: d.Config.AppPrivateKey, AlipayPublicKey: d.Config.AlipayPublicKey}); err != nil {
			t.Errorf("the demo's keys do not make a client: %v", err)
		}
		scans := 0
		for _, st := range d.Script {
			if st.Delay < minPause {
				t.Errorf("speed %v: a pause of %v glues reads together", speed, st.Delay)
			}
			if st.Code != "" {
				if !paymentCode.MatchString(st.Code) {
					t.Errorf("demo code %q: not a payment code (16 to 24 digits starting with 25 to 30)", st.Code)
				}
				scans++
			}
		}
		if scans < len(d.Codes) {
			t.Errorf("script scans %d codes, want at least %d", scans, len(d.Codes))
		}
		if _, err := os.Stat(d.Config.AppPrivateKey); err != nil {
			t.Error(err)
		}
	}
}
