package alipay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func benchClient(b *testing.B) *Client {
	b.Helper()
	c, err := NewClient(Config{
		GatewayURL:      "http://127.0.0.1:1/gateway.do",
		AppID:           "2014072300007148",
		PrivateKey:      testAppKey(b),
		AlipayPublicKey: &testAlipayKey(b).PublicKey,
		Now:             func() time.Time { return testNow },
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// signTwostage is everything the client does to turn a twostage request into
// the signed form body it sends: checks, biz_content, parameters, canonical
// string, SHA-256, RSA, base64, form encoding.
func signTwostage(c *Client, req TwostageRequest) ([]byte, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	biz, err := marshalBiz(req)
	if err != nil {
		return nil, err
	}
	return c.requestBody(MethodTwostageCommonUse, biz, false)
}

// BenchmarkSignRequest times building and signing a twostage request (RSA2,
// 2048-bit key) and, in the same run, the bare rsa.SignPKCS1v15 of the same
// key over a ready digest. The two alternate in chunks of a few operations
// and x-rsa is the median of the chunks' time ratios, so that load from
// other processes on the machine hits both alike and a burst does not skew
// the figure. x-rsa is what the client costs on top of the RSA operation it
// cannot avoid (target <= 1.05). ns/op and allocs/op are the client's path
// alone: the timer is stopped around the bare RSA chunks.
func BenchmarkSignRequest(b *testing.B) {
	c := benchClient(b)
	key := c.key
	content := readTestdata(b, "sign/twostage_canonical.txt")
	digest := sha256.Sum256(content)
	if _, err := signTwostage(c, pageTwostage); err != nil {
		b.Fatal(err)
	}
	const chunk = 8
	var ratios []float64
	var rsaTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(chunk, b.N-done)

		b.StopTimer()
		start := time.Now()
		for range n {
			if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
		bare := time.Since(start)
		rsaTime += bare
		b.StartTimer()

		start = time.Now()
		for range n {
			if _, err := signTwostage(c, pageTwostage); err != nil {
				b.Fatal(err)
			}
		}
		ratios = append(ratios, float64(time.Since(start))/float64(bare))
		done += n
	}
	b.StopTimer()
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-rsa")
	b.ReportMetric(float64(rsaTime.Nanoseconds())/float64(b.N), "rsa-ns/op")
}

// BenchmarkVerifyResponse times turning a signed twostage response body into
// a TwostageResponse: locating the object in the raw bytes, RSA2
// verification, decoding.
func BenchmarkVerifyResponse(b *testing.B) {
	c := benchClient(b)
	body := signedBody(b, testAlipayKey(b), MethodTwostageCommonUse, pageTwostageOK)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		obj, err := c.parseResponse(ctx, MethodTwostageCommonUse, 200, body)
		if err != nil {
			b.Fatal(err)
		}
		var r TwostageResponse
		if err := json.Unmarshal(obj, &r); err != nil || r.UserID == "" {
			b.Fatal(err)
		}
	}
}
