package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"posagent/internal/alipay"
)

// openAPIDoc is the part of openapi.json these tests read.
type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`
}

type schema struct {
	Pattern    string            `json:"pattern"`
	MaxLength  int               `json:"maxLength"`
	Properties map[string]schema `json:"properties"`
}

type operation struct {
	RequestBody *struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func (d openAPIDoc) op(t *testing.T, method, path string) operation {
	t.Helper()
	var op operation
	if err := json.Unmarshal(d.Paths[path][method], &op); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return op
}

// takes says whether a string property of the document accepts v.
func (s schema) takes(t *testing.T, v string) bool {
	t.Helper()
	if s.MaxLength > 0 && utf8.RuneCountInString(v) > s.MaxLength {
		return false
	}
	if s.Pattern == "" {
		return true
	}
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		t.Fatalf("pattern %q: %v", s.Pattern, err)
	}
	return re.MatchString(v)
}

// amounts are the total_amount values the patterns are checked on: the
// edges by hand, and every string of up to five characters of "0", "1",
// "9" and ".".
func amounts() []string {
	out := []string{"", "0", "00", "0.0", "0.00", "0.01", "0.1", "0.10", "0.001", "0012.50", "012.50", "12.50", "12.5",
		"12.", ".5", "1e2", "-1", "+1", " 1", "1,00", "99999999.99", "99999999.999", "100000000", "100000000.0",
		"100000000.00", "100000000.01", "100000000.1", "100000001", "999999999", "1000000000", "１２"}
	var gen func(prefix string)
	gen = func(prefix string) {
		if prefix != "" {
			out = append(out, prefix)
		}
		if len(prefix) == 5 {
			return
		}
		for _, c := range "019." {
			gen(prefix + string(c))
		}
	}
	gen("")
	return out
}

// The OpenAPI document's total_amount and out_trade_no rules take exactly
// what the server takes: a POS that validates with them is never refused,
// and never sends what the server would refuse.
func TestOpenAPIPatternsMatchValidation(t *testing.T) {
	doc := loadOpenAPI(t)
	pay := doc.Components.Schemas["PaymentRequest"].Properties
	app := doc.op(t, "post", "/v1/app-pay/orders").RequestBody.Content["application/json"].Schema.Properties
	fieldOK := func(err error, field string) bool {
		var fe *alipay.FieldError
		return err == nil || !errors.As(err, &fe) || fe.Field != field
	}
	for _, v := range amounts() {
		_, err := alipay.ParseYuan(v)
		if got, want := pay["total_amount"].takes(t, v), err == nil; got != want {
			t.Errorf("POST /v1/payments total_amount %q: OpenAPI takes it %v, the server %v (%v)", v, got, want, err)
		}
		err = alipay.TradeAppPayRequest{TotalAmount: v, Subject: "x", OutTradeNo: "o1"}.Validate()
		if got, want := app["total_amount"].takes(t, v), fieldOK(err, "total_amount"); got != want {
			t.Errorf("POST /v1/app-pay/orders total_amount %q: OpenAPI takes it %v, the server %v (%v)", v, got, want, err)
		}
	}
	for _, v := range []string{"", "o1", "POS_0001", "APP-0001", "A/B", "销售单1", "a b", strings.Repeat("a", 64), strings.Repeat("a", 65)} {
		err := alipay.TradePayRequest{OutTradeNo: v, AuthCode: "0", Subject: "x", TotalAmount: "1.00"}.Validate()
		if got, want := pay["out_trade_no"].takes(t, v), fieldOK(err, "out_trade_no"); got != want {
			t.Errorf("POST /v1/payments out_trade_no %q: OpenAPI takes it %v, the server %v (%v)", v, got, want, err)
		}
		err = alipay.TradeAppPayRequest{TotalAmount: "1.00", Subject: "x", OutTradeNo: v}.Validate()
		if got, want := app["out_trade_no"].takes(t, v), fieldOK(err, "out_trade_no"); got != want {
			t.Errorf("POST /v1/app-pay/orders out_trade_no %q: OpenAPI takes it %v, the server %v (%v)", v, got, want, err)
		}
	}
}

// Every route answers 403 to a foreign Host, and says so in the document;
// every route with a body documents 400, 413 and 415; POST /v1/scans
// documents its 500 not_recorded and 503.
func TestOpenAPIResponsesAnswered(t *testing.T) {
	doc := loadOpenAPI(t)
	ts := newTestServer(t, func(o *Options) {
		o.Payments = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	for path, ops := range doc.Paths {
		for method := range ops {
			op := doc.op(t, method, path)
			rt := strings.ToUpper(method) + " " + path
			if _, ok := op.Responses["403"]; !ok {
				t.Errorf("%s: no 403 in openapi.json", rt)
			}
			if op.RequestBody != nil {
				for _, st := range []string{"400", "413", "415"} {
					if _, ok := op.Responses[st]; !ok {
						t.Errorf("%s takes a body but documents no %s", rt, st)
					}
				}
			}
			p := strings.NewReplacer("{out_trade_no}", "o1", "{id}", "1").Replace(path)
			if st, _, body := ts.do(t, strings.ToUpper(method), p, "", "Host", "evil.example"); st != 403 || errorCode(body) != "forbidden_host" {
				t.Errorf("%s with a foreign Host: %d %s", rt, st, body)
			}
		}
	}
	scans := doc.op(t, "post", "/v1/scans")
	for _, st := range []string{"500", "503"} {
		if _, ok := scans.Responses[st]; !ok {
			t.Errorf("POST /v1/scans documents no %s", st)
		}
	}
}
