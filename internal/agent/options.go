package agent

import (
	"posagent/internal/alipay"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/scanner"
)

// The configuration file is translated here, once, into each package's own
// options: below the wiring, no package reads internal/config.

// gatewayOptions are the gateway client's settings from the file.
func gatewayOptions(c *config.Config) alipay.Options {
	return alipay.Options{
		GatewayURL:      c.GatewayURL,
		AppID:           c.AppID,
		SignType:        c.SignType,
		Charset:         c.Charset,
		AppAuthToken:    c.AppAuthToken,
		AppPrivateKey:   c.AppPrivateKey,
		AlipayPublicKey: c.AlipayPublicKey,
		AppCert:         c.AppCert,
		AlipayCert:      c.AlipayCert,
		AlipayRootCert:  c.AlipayRootCert,
		EncryptKey:      c.EncryptKey,
	}
}

// CouponRules checks the file's coupons and returns them as rules; an error
// names the key.
func CouponRules(c *config.Config) (coupon.Rules, error) {
	specs := make([]coupon.Spec, len(c.Coupons))
	for i, r := range c.Coupons {
		specs[i] = coupon.Spec{SchoolStdCode: r.Match.SchoolStdCode, AnyUser: r.Match.AnyUser, TplID: r.TplID, TplParams: r.TplParams}
	}
	return coupon.NewRules(specs)
}

// scannerSpec is the scanner the file names.
func scannerSpec(s config.Scanner) scanner.Spec {
	return scanner.Spec{Kind: s.Kind, Port: s.Port, Baud: s.Baud, VID: s.VID, PID: s.PID, Terminator: s.Terminator, Profile: s.Profile}
}
