package config

import (
	"bytes"
	"encoding/json"
	"time"
)

// Skeleton is the configuration `posagent init` writes: every key, each with
// a safe default, or left empty where only the merchant knows the value
// (app_id, the Alipay key or certificates, pay_pid, terminal_id, the
// scanner), so that `posagent doctor` and a start name each one still
// missing. gatewayURL is Alipay's production gateway; privateKey the path
// of the key init made, relative to the file.
func Skeleton(gatewayURL, privateKey string) []byte {
	c := skeleton{
		GatewayURL:    gatewayURL,
		AppPrivateKey: privateKey,
		SignType:      "RSA2",
		Charset:       "utf-8",
		DataDir:       "data",
		Coupons:       []CouponRule{},
		API:           skelAPI{Listen: DefaultAPIListen, AllowOrigins: []string{}},
		Payment:       skelPayment{BuyerWaitSeconds: int(DefaultBuyerWait / time.Second), KeepDays: DefaultPaymentKeepDays},
		Queue:         skelQueue{MaxInFlight: DefaultQueueMaxInFlight},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		panic("config: skeleton: " + err.Error()) // fixed types: cannot fail
	}
	return b.Bytes()
}

// skeleton is Config without omitempty, in the file's order: an installer
// sees every key there is.
type skeleton struct {
	GatewayURL        string       `json:"gateway_url"`
	AppID             string       `json:"app_id"`
	AppPrivateKey     string       `json:"app_private_key"`
	AlipayPublicKey   string       `json:"alipay_public_key"`
	AppCert           string       `json:"app_cert"`
	AlipayCert        string       `json:"alipay_cert"`
	AlipayRootCert    string       `json:"alipay_root_cert"`
	EncryptKey        string       `json:"encrypt_key"`
	SignType          string       `json:"sign_type"`
	Charset           string       `json:"charset"`
	AppAuthToken      string       `json:"app_auth_token"`
	PayPID            string       `json:"pay_pid"`
	TerminalID        string       `json:"terminal_id"`
	DataDir           string       `json:"data_dir"`
	Scanner           skelScanner  `json:"scanner"`
	Coupons           []CouponRule `json:"coupons"`
	MerchantCouponURL string       `json:"merchant_coupon_url"`
	API               skelAPI      `json:"api"`
	Payment           skelPayment  `json:"payment"`
	AppPay            skelAppPay   `json:"app_pay"`
	StaffPIN          string       `json:"staff_pin"` // empty: the TUI asks staff for no PIN
	Queue             skelQueue    `json:"queue"`
}

type skelQueue struct {
	MaxInFlight  int     `json:"max_in_flight"`
	MaxPerSecond float64 `json:"max_per_second"`
}

type skelAPI struct {
	Listen       string   `json:"listen"`
	TokenFile    string   `json:"token_file"`
	AllowOrigins []string `json:"allow_origins"`
	TLSCert      string   `json:"tls_cert"`
	TLSKey       string   `json:"tls_key"`
}

type skelPayment struct {
	BuyerWaitSeconds int `json:"buyer_wait_seconds"`
	KeepDays         int `json:"keep_days"`
}

type skelScanner struct {
	Kind       string `json:"kind"`
	Port       string `json:"port"`
	Baud       int    `json:"baud"`
	VID        string `json:"vid"`
	PID        string `json:"pid"`
	Terminator string `json:"terminator"`
	Profile    string `json:"profile"`
}

type skelAppPay struct {
	NotifyURL string `json:"notify_url"`
}
