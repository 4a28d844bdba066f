package coupon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"posagent/internal/decode"
	"posagent/internal/endpoint"
)

// DefaultMerchantTimeout bounds a merchant lookup: the customer is at the
// till, and the local rules apply when the merchant is slow.
const DefaultMerchantTimeout = 2 * time.Second

// maxMerchantAnswer bounds what is read from the merchant endpoint.
const maxMerchantAnswer = 1 << 20

// Merchant asks the merchant's own endpoint (merchant_coupon_url) which
// coupons a customer gets. The request is an HTTP POST of
//
//	{"user_id": "2088…", "school_std_code": "…", "campus_no": "…"}
//
// and the answer is
//
//	{"coupons": [{"tpl_id": "…", "tpl_params": {"k": "v", …}}, …]}
//
// tpl_params values may hold the same placeholders as configured rules.
type Merchant struct {
	URL    string
	Client *http.Client // default: one with DefaultMerchantTimeout
}

type merchantRequest struct {
	UserID        string `json:"user_id"`
	SchoolStdCode string `json:"school_std_code"`
	CampusNo      string `json:"campus_no"`
}

type merchantAnswer struct {
	Coupons []struct {
		TplID     string          `json:"tpl_id"`
		TplParams json.RawMessage `json:"tpl_params"`
	} `json:"coupons"`
}

// Lookup returns the templates the merchant issues to id.
func (m *Merchant) Lookup(ctx context.Context, id decode.Identity) ([]Template, error) {
	body, _ := json.Marshal(merchantRequest{UserID: id.UserID, SchoolStdCode: id.SchoolStdCode, CampusNo: id.CampusNo})
	if err := endpoint.Check(m.URL); err != nil {
		return nil, fmt.Errorf("merchant coupons: %w", err)
	}
	client := m.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultMerchantTimeout}
	}
	// A redirect would re-post the customer's user id wherever it points.
	client = endpoint.Client(client)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("merchant coupons: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("merchant coupons: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMerchantAnswer))
	if err != nil {
		return nil, fmt.Errorf("merchant coupons %s: %w", m.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("merchant coupons %s: HTTP %d", m.URL, resp.StatusCode)
	}
	ts, err := parseMerchantAnswer(data)
	if err != nil {
		return nil, fmt.Errorf("merchant coupons %s: %w", m.URL, err)
	}
	return ts, nil
}

// parseMerchantAnswer reads {"coupons": [{"tpl_id", "tpl_params"}, ...]}.
func parseMerchantAnswer(data []byte) ([]Template, error) {
	var a merchantAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("answer is not {\"coupons\": [...]}: %w", err)
	}
	ts := make([]Template, 0, len(a.Coupons))
	for i, c := range a.Coupons {
		if c.TplID == "" {
			return nil, fmt.Errorf("coupons[%d]: empty tpl_id", i)
		}
		params, err := stringParams(c.TplParams)
		if err != nil {
			return nil, fmt.Errorf("coupons[%d].tpl_params: %w", i, err)
		}
		ts = append(ts, Template{TplID: c.TplID, Params: params})
	}
	return ts, nil
}
