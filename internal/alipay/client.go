package alipay

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"posagent/internal/endpoint"
)

// Charsets the client speaks. The gateway answers in the charset of the
// request.
const (
	CharsetUTF8 = "utf-8"
	CharsetGBK  = "GBK"
)

// DefaultGatewayURL is Alipay's production gateway: the client's gateway
// when Config.GatewayURL is empty.
const DefaultGatewayURL = "https://openapi.alipay.com/gateway.do"

// DefaultTimeout bounds one gateway call when Config.HTTPClient is nil. A
// decode is worth nothing after the payment code's minute is over, so the
// bound is short; callers narrow it further with their context.
const DefaultTimeout = 15 * time.Second

// maxResponse bounds what is read of a response body: the four methods answer
// a few hundred bytes, so anything near this is not the gateway.
const maxResponse = 1 << 20

// beijing is the gateway's clock zone. A fixed offset rather than
// time.LoadLocation("Asia/Shanghai"): Windows has no tz database, and China has
// had no daylight saving time since 1991.
var beijing = time.FixedZone("UTC+8", 8*60*60)

// timestampLayout is the common parameter timestamp's "yyyy-MM-dd HH:mm:ss".
const timestampLayout = "2006-01-02 15:04:05"

// Config configures a Client. Keys are given parsed; NewClientFromFiles reads
// them from the files Options names.
type Config struct {
	GatewayURL      string          // default DefaultGatewayURL
	AppID           string          // required, max 32
	PrivateKey      *rsa.PrivateKey // the application's key: signs requests and order strings
	SignType        SignType        // RSA2 (default) or RSA
	Charset         string          // "utf-8" (default) or "GBK" ("gb2312" is taken as GBK)
	AppAuthToken    string          // optional, max 40
	AlipayPublicKey *rsa.PublicKey  // public-key mode: verifies responses and notifications
	Certs           *CertConfig     // certificate mode (nil in public-key mode)
	// EncryptKey turns on AES content encryption: either the base64 text the
	// Alipay console shows or the decoded 16, 24 or 32 key bytes.
	EncryptKey []byte
	HTTPClient *http.Client     // default: one with DefaultTimeout
	Now        func() time.Time // default time.Now; timestamps are Beijing time whatever its zone
}

// Client calls the Alipay Open Platform gateway. It is safe for concurrent
// use.
type Client struct {
	gatewayURL   string   // as configured, or DefaultGatewayURL
	endpoint     *url.URL // gatewayURL with charset in its query; never modified
	contentType  []string // the requests' Content-Type header value
	appID        string
	key          *rsa.PrivateKey
	signType     SignType
	charset      string
	gbk          bool
	appAuthToken string
	alipayKey    *rsa.PublicKey // public-key mode
	certs        *certStore     // certificate mode
	aes          *contentCipher // nil without encryption
	http         *http.Client
	now          func() time.Time
}

// NewClient checks cfg and returns a client. Every problem a configuration can
// have is found here, at start, rather than at the first scan: a missing key,
// a key too short for its sign type, Alipay's public key mixed up with the
// application's, a certificate that is not the private key's.
func NewClient(cfg Config) (*Client, error) {
	c := &Client{
		appID:        cfg.AppID,
		key:          cfg.PrivateKey,
		signType:     cfg.SignType,
		appAuthToken: cfg.AppAuthToken,
		http:         cfg.HTTPClient,
		now:          cfg.Now,
	}
	if c.signType == "" {
		c.signType = RSA2
	}
	if c.now == nil {
		c.now = time.Now
	}
	if _, err := c.signType.hash(); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(cfg.AppID) == "":
		return nil, errors.New("alipay: app_id is required")
	case len(cfg.AppID) > 32:
		return nil, fmt.Errorf("alipay: app_id %q: %d characters, at most 32", cfg.AppID, len(cfg.AppID))
	case len(cfg.AppAuthToken) > 40:
		return nil, fmt.Errorf("alipay: app_auth_token: %d characters, at most 40", len(cfg.AppAuthToken))
	case cfg.PrivateKey == nil:
		return nil, errors.New("alipay: the application private key is required")
	}
	// Alipay issues RSA2 application keys of 2048 bits and refuses shorter
	// ones; RSA (SHA1) applications still have 1024-bit keys.
	if bits := cfg.PrivateKey.N.BitLen(); c.signType == RSA2 && bits < 2048 {
		return nil, fmt.Errorf("alipay: private key has %d bits: sign_type RSA2 needs a 2048-bit key (a 1024-bit key belongs to sign_type RSA)", bits)
	} else if bits < 1024 {
		return nil, fmt.Errorf("alipay: private key has %d bits, want at least 1024", bits)
	}
	if cfg.PrivateKey.Precomputed.Dp == nil {
		cfg.PrivateKey.Precompute()
	}

	switch {
	case cfg.Charset == "" || strings.EqualFold(cfg.Charset, "utf-8") || strings.EqualFold(cfg.Charset, "utf8"):
		c.charset = CharsetUTF8
	case strings.EqualFold(cfg.Charset, "GBK"), strings.EqualFold(cfg.Charset, "gb2312"): // GBK extends GB2312
		c.charset, c.gbk = CharsetGBK, true
	default:
		return nil, fmt.Errorf("alipay: charset %q: want utf-8 or GBK", cfg.Charset)
	}

	var err error
	switch {
	case cfg.Certs != nil && cfg.AlipayPublicKey != nil:
		return nil, errors.New("alipay: both an Alipay public key and certificates: choose public-key mode or certificate mode")
	case cfg.Certs != nil:
		if c.certs, err = newCertStore(cfg.Certs, cfg.PrivateKey, c.now); err != nil {
			return nil, err
		}
		if c.certs.fetch == nil {
			c.certs.fetch = c.downloadAlipayCert
		}
	case cfg.AlipayPublicKey != nil:
		if cfg.AlipayPublicKey.Equal(&cfg.PrivateKey.PublicKey) {
			return nil, errors.New("alipay: the Alipay public key is the application's own public key: configure the key Alipay shows as \"支付宝公钥\"")
		}
		c.alipayKey = cfg.AlipayPublicKey
	default:
		return nil, errors.New("alipay: an Alipay public key (public-key mode) or certificates (certificate mode) are required to verify responses")
	}

	if len(cfg.EncryptKey) > 0 {
		if c.aes, err = newContentCipher(cfg.EncryptKey); err != nil {
			return nil, err
		}
	}

	gw := cfg.GatewayURL
	if gw == "" {
		gw = DefaultGatewayURL
	}
	if err := endpoint.Check(gw); err != nil {
		return nil, fmt.Errorf("alipay: gateway URL: %w", err)
	}
	u, _ := url.Parse(gw) // checked

	// The gateway reads charset from the query string to know how to decode
	// the form body.
	q := u.Query()
	q.Set("charset", c.charset)
	u.RawQuery = q.Encode()
	c.endpoint = u
	c.contentType = []string{"application/x-www-form-urlencoded;charset=" + c.charset}
	c.gatewayURL = gw

	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	// A redirect would re-post the signed request, payment code and all,
	// wherever it points.
	c.http = endpoint.Client(c.http)
	return c, nil
}

// Options are a client's settings as a configuration file holds them: the
// key material named by path. The zero value of each optional field means
// the default of the matching Config field. Errors name the file's keys
// (app_private_key, alipay_cert…), which these fields mirror.
type Options struct {
	GatewayURL   string // gateway_url; "" = DefaultGatewayURL
	AppID        string // app_id
	SignType     string // sign_type: RSA2 (default) or RSA
	Charset      string // charset: utf-8 (default) or GBK
	AppAuthToken string // app_auth_token, optional

	AppPrivateKey   string // app_private_key: a PEM file or Alipay's bare base64 key
	AlipayPublicKey string // alipay_public_key: public-key mode
	// AppCert, AlipayCert and AlipayRootCert: certificate mode, all three.
	AppCert, AlipayCert, AlipayRootCert string
	EncryptKey                          string // encrypt_key: the AES key file, optional
}

// NewClientFromFiles reads the key, certificate and AES key files o names
// and builds a client from them.
func NewClientFromFiles(o Options) (*Client, error) {
	read := func(key, path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return b, nil
	}
	cfg := Config{
		GatewayURL:   o.GatewayURL,
		AppID:        o.AppID,
		SignType:     SignType(o.SignType),
		Charset:      o.Charset,
		AppAuthToken: o.AppAuthToken,
	}
	b, err := read("app_private_key", o.AppPrivateKey)
	if err != nil {
		return nil, err
	}
	if cfg.PrivateKey, err = ParsePrivateKey(b); err != nil {
		return nil, fmt.Errorf("app_private_key %s: %w", o.AppPrivateKey, err)
	}
	if o.AlipayPublicKey != "" {
		if b, err = read("alipay_public_key", o.AlipayPublicKey); err != nil {
			return nil, err
		}
		if cfg.AlipayPublicKey, err = ParsePublicKey(b); err != nil {
			return nil, fmt.Errorf("alipay_public_key %s: %w", o.AlipayPublicKey, err)
		}
	}
	if o.AppCert != "" || o.AlipayCert != "" || o.AlipayRootCert != "" {
		cc := &CertConfig{}
		files := []struct {
			key, path string
			dst       *[]byte
		}{
			{"app_cert", o.AppCert, &cc.AppCert},
			{"alipay_cert", o.AlipayCert, &cc.AlipayCert},
			{"alipay_root_cert", o.AlipayRootCert, &cc.RootCert},
		}
		for _, f := range files {
			if *f.dst, err = read(f.key, f.path); err != nil {
				return nil, err
			}
		}
		cfg.Certs = cc
	}
	if o.EncryptKey != "" {
		if cfg.EncryptKey, err = read("encrypt_key", o.EncryptKey); err != nil {
			return nil, err
		}
	}
	return NewClient(cfg)
}

// GatewayURL is the gateway the client calls: the configured URL, or
// DefaultGatewayURL.
func (c *Client) GatewayURL() string { return c.gatewayURL }

// timestamp is the common parameter timestamp: Beijing time.
func (c *Client) timestamp() string {
	return c.now().In(beijing).Format(timestampLayout)
}
