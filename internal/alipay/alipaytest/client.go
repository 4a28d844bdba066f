package alipaytest

import (
	"context"
	"encoding/base64"

	"posagent/internal/alipay"
)

// ClientConfig is a configuration of the real client that talks to this
// server: its URL, app_id, app key, sign type, charset, AES key (as the
// console's base64 text), and clock; in public-key mode the current Alipay
// public key, in certificate mode the three certificates with a Fetch that
// hands out the certificate a rotated server names.
func (s *Server) ClientConfig() alipay.Config {
	cfg := alipay.Config{
		GatewayURL: s.URL(),
		AppID:      s.appID,
		PrivateKey: s.appKey,
		SignType:   s.signType,
		Charset:    s.charset,
		Now:        s.now,
	}
	if s.encryptKey != nil {
		cfg.EncryptKey = []byte(base64.StdEncoding.EncodeToString(s.encryptKey))
	}
	c, err := s.Certs()
	if err != nil {
		cfg.AlipayPublicKey = s.AlipayPublicKey()
		return cfg
	}
	cfg.Certs = &alipay.CertConfig{
		AppCert:    c.App,
		AlipayCert: c.Alipay,
		RootCert:   c.Root,
		Fetch: func(ctx context.Context, sn string) ([]byte, error) {
			return s.AlipayCert(sn)
		},
	}
	return cfg
}

// Client returns the real client wired to this server, built from
// ClientConfig after each edit has changed it (a wrong key, an
// app_auth_token…). Like NewServer it panics if the client cannot be built:
// an edit that makes the configuration invalid is the test's mistake.
func (s *Server) Client(edits ...func(*alipay.Config)) *alipay.Client {
	cfg := s.ClientConfig()
	for _, edit := range edits {
		edit(&cfg)
	}
	c, err := alipay.NewClient(cfg)
	if err != nil {
		panic("alipaytest: Client: " + err.Error())
	}
	return c
}
