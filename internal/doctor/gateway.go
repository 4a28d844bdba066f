package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"posagent/internal/alipay"
)

// gatewayAnswer is what a plain request to gateway_url found.
type gatewayAnswer struct {
	reached bool
	date    time.Time // the gateway's Date header; zero if none
	at      time.Time // the PC's clock when the answer arrived
}

// reach asks gateway_url for anything: is it there, does it answer itself
// (not a redirect to somewhere else), and what time does it say it is.
func (r *report) reach(ctx context.Context, o Options) gatewayAnswer {
	var g gatewayAnswer
	if o.GatewayURL == "" {
		return g
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.GatewayURL, nil)
	if err != nil {
		r.fail("gateway", fmt.Sprintf("gateway_url %q: %v", o.GatewayURL, err), "set gateway_url to https://openapi.alipay.com/gateway.do")
		return g
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		r.fail("gateway", fmt.Sprintf("%s not reached: %v", o.GatewayURL, err),
			"check the network, the proxy and the firewall (outbound HTTPS to the gateway)")
		return g
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		r.fail("gateway", fmt.Sprintf("%s redirects (HTTP %d) to %q: the gateway never redirects, and a signed call is not followed",
			o.GatewayURL, resp.StatusCode, resp.Header.Get("Location")),
			"set gateway_url to the gateway's own address (a proxy or captive portal may be answering instead)")
		return g
	}
	g.reached, g.at = true, o.Now()
	if d := resp.Header.Get("Date"); d != "" {
		g.date, _ = http.ParseTime(d)
	}
	r.ok("gateway", "%s answers (HTTP %d)", o.GatewayURL, resp.StatusCode)
	return g
}

// clock compares the PC's clock with the gateway's Date header.
func (r *report) clock(o Options, g gatewayAnswer) {
	switch {
	case !g.reached:
		r.fail("clock", "not compared: the gateway was not reached", "fix the gateway check first")
		return
	case g.date.IsZero():
		r.fail("clock", "not compared: the gateway's answer has no Date header", "check that gateway_url is Alipay's gateway")
		return
	}
	skew := g.at.Sub(g.date).Round(time.Second)
	abs := max(skew, -skew)
	way := "ahead of"
	if skew < 0 {
		way = "behind"
	}
	if abs > o.MaxSkew {
		r.fail("clock", fmt.Sprintf("the PC's clock is %s %s the gateway's (it refuses requests more than %s off)", abs, way, o.MaxSkew),
			"set the clock and turn on time sync (Linux: timedatectl set-ntp true; Windows: Settings → Time → Sync now)")
		return
	}
	// Date has whole seconds: a second either way is no news.
	if abs <= time.Second {
		r.ok("clock", "the PC's clock agrees with the gateway's")
		return
	}
	r.ok("clock", "the PC's clock is %s %s the gateway's (within %s)", abs, way, o.MaxSkew)
}

// setupSubCodes are the gateway's answers that mean the setup is wrong,
// though the answer itself arrived signed.
var setupSubCodes = map[string]string{
	alipay.SubInvalidSignature:                   "the gateway refused the request's signature: the application public key in the console is not app_private_key's (upload the one `posagent init` printed)",
	"isv.invalid-app-id":                         "the gateway does not know app_id (check it in the console, and that the app is online)",
	"isv.missing-signature-config":               "the app has no key for this sign_type in the console (set its 接口加签方式)",
	"isv.invalid-timestamp":                      "the gateway refused the request's timestamp: set the PC's clock",
	"isv.invalid-app-cert-sn":                    "app_cert is not the certificate the console holds for this app",
	"isv.invalid-alipay-root-cert-sn":            "alipay_root_cert is not Alipay's root certificate",
	"isv.invalid-encrypt":                        "encrypt_key is not the app's AES key",
	"isv.decryption-error-not-valid-encrypt-key": "the app has no AES key in the console: remove encrypt_key or set the key there",
	"isv.insufficient-isv-permissions":           "the app may not call alipay.user.twostage.common.use: add the product in the console",
}

// probe makes one signed call and checks that the answer verifies.
func (r *report) probe(ctx context.Context, o Options, k *keys, g gatewayAnswer) {
	const name = "signed call"
	if !g.reached {
		r.fail(name, "not tried: the gateway was not reached", "fix the gateway check first")
		return
	}
	if k.priv == nil || (k.alipayPub == nil && (k.appCert == nil || k.alipay == nil || k.root == nil)) || k.bad {
		r.fail(name, "not tried: the keys above are missing or bad", "fix the key checks first")
		return
	}
	cfg := alipay.Config{
		GatewayURL: o.GatewayURL, AppID: o.AppID, PrivateKey: k.priv, SignType: alipay.SignType(o.SignType),
		Charset: o.Charset, AppAuthToken: o.AppAuthToken, AlipayPublicKey: k.alipayPub,
		EncryptKey: k.aes, HTTPClient: o.HTTPClient, Now: o.Now,
	}
	if k.certMode() {
		cfg.AlipayPublicKey = nil
		cfg.Certs = &alipay.CertConfig{AppCert: k.appCert, AlipayCert: k.alipay, RootCert: k.root}
	}
	c, err := alipay.NewClient(cfg)
	if err != nil {
		r.fail(name, "not tried: "+err.Error(), "fix the configuration")
		return
	}
	pid := o.PayPID
	if pid == "" {
		pid = "2088000000000000" // a probe needs one; the config check names the missing key
	}
	sence := "doctor-" + strconv.FormatInt(o.Now().UnixNano(), 36)
	_, err = c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: alipay.ProbeDynamicID, SenceNo: sence, PayPID: pid})
	var ae *alipay.Error
	switch {
	case err == nil:
		r.ok(name, "alipay.user.twostage.common.use answered and its signature verifies")
	case errors.As(err, &ae) && ae.Code != "" && ae.Err == nil:
		if why, bad := setupSubCodes[ae.SubCode]; bad || ae.Code == alipay.CodeInsufficientPermits || ae.Code == alipay.CodeInsufficientAuth {
			if !bad {
				why = "the app may not call alipay.user.twostage.common.use (" + ae.Code + " " + ae.SubCode + "): add the product in the console"
			}
			r.fail(name, fmt.Sprintf("the gateway answered %s %s", ae.Code, ae.SubCode), why)
			return
		}
		r.ok(name, "the gateway answered a made-up code with %s %s, signed: requests sign and answers verify", ae.Code, ae.SubCode)
	case errors.Is(err, alipay.ErrSignature):
		r.fail(name, "an answer came back but its signature does not verify",
			"alipay_public_key (or alipay_cert) must be what the console shows for this app as 支付宝公钥")
	case errors.As(err, &ae) && ae.HTTPStatus >= 300 && ae.HTTPStatus < 400:
		r.fail(name, fmt.Sprintf("the gateway redirected the call (HTTP %d)", ae.HTTPStatus), "set gateway_url to the gateway's own address")
	default:
		r.fail(name, err.Error(), "check gateway_url and the network")
	}
}
