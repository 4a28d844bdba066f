package alipay

import (
	"context"
	"testing"
)

// The page of alipay.pass.instance.add names the result's field operation
// in its table and operate in its example: either is read.
func TestPassResultOperation(t *testing.T) {
	for _, obj := range []string{
		`{"code":"10000","msg":"Success","success":"true","result":"{\"serialNumber\":\"1\",\"passId\":\"2\",\"operate\":\"ADD\"}"}`,
		`{"code":"10000","msg":"Success","success":"true","result":"{\"serialNumber\":\"1\",\"passId\":\"2\",\"operation\":\"ADD\"}"}`,
	} {
		r, err := parsePassResponse([]byte(obj))
		if err != nil || r.Result.Operate != "ADD" || r.Result.PassID != "2" {
			t.Errorf("%s: %+v, %v; want operation ADD", obj, r, err)
		}
	}
}

// "gb2312", which the pages list beside gbk, is taken as GBK (a superset):
// the client then speaks GBK.
func TestCharsetGB2312IsGBK(t *testing.T) {
	g := newTestGateway(t)
	c := g.client(func(cfg *Config) { cfg.Charset = "gb2312" })
	g.answer(signedBody(t, g.key, MethodTwostageCommonUse, pageTwostageOK))
	if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); err != nil {
		t.Fatal(err)
	}
	if r := g.requests()[0]; r.Query.Get("charset") != "GBK" || !r.SignedOK {
		t.Errorf("charset %q, signed ok %v; want GBK", r.Query.Get("charset"), r.SignedOK)
	}
}
