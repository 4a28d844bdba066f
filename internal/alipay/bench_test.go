package alipay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
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

// replay is a transport that answers every request with one recorded body,
// doing no work of its own beyond the response it hands back.
type replay struct{ body []byte }

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	req.Body.Close()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(r.body)), ContentLength: int64(len(r.body)), Request: req}, nil
}

// BenchmarkDecodeClientSide is one decode through the client with the
// network and the gateway replaced by a replayed signed answer: allocs/op is
// the client's own work per round trip (validate, build, sign, send through
// http.Client, read, verify, decode), with neither the gateway's
// allocations nor the HTTP transport's in the figure. Target: at most 60.
// BenchmarkClientRoundTrip (alipaytest) adds the real loopback transport.
func BenchmarkDecodeClientSide(b *testing.B) {
	body := signedBody(b, testAlipayKey(b), MethodTwostageCommonUse, pageTwostageOK)
	c, err := NewClient(Config{
		GatewayURL:      "http://127.0.0.1:1/gateway.do",
		AppID:           "2014072300007148",
		PrivateKey:      testAppKey(b),
		AlipayPublicKey: &testAlipayKey(b).PublicKey,
		HTTPClient:      &http.Client{Transport: replay{body}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.TwostageCommonUse(ctx, pageTwostage); err != nil || r.UserID == "" {
			b.Fatal(r, err)
		}
	}
}
