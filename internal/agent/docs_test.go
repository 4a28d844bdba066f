package agent

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/scanner"
)

// curlExample is a curl command of the docs that sends a JSON body, and the
// statuses its comment lines say it answers ("# 202 ...", "# → 400 ...");
// none said means any 2xx.
type curlExample struct {
	where    string // file:line
	path     string
	body     string
	statuses []int
}

var (
	curlBody   = regexp.MustCompile(`-d '([^']*)'`)
	curlPath   = regexp.MustCompile(`(?:\$API|\$URL|http://127\.0\.0\.1:PORT)(/[^\s"'\\]*)`)
	curlStatus = regexp.MustCompile(`^#\s*(?:→\s*)?([1-5][0-9][0-9])\b`)
	idInPath   = regexp.MustCompile(`/v1/payments/([^/?\s]+)`)
	outTradeNo = regexp.MustCompile(`"out_trade_no":\s*"([^"]*)"`)
	senceNoKey = regexp.MustCompile(`"sence_no":"[^"]*"`)
	codeKey    = regexp.MustCompile(`"code":"([^"]*)"`)
)

// curlExamples reads the curl commands of a Markdown file, lines joined
// where they end in a backslash.
func curlExamples(t *testing.T, file string) (withBody []curlExample, paths []string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		cmd := strings.TrimSpace(lines[i])
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if !strings.HasPrefix(cmd, "curl ") {
			continue
		}
		m := curlPath.FindStringSubmatch(cmd)
		if m == nil {
			t.Errorf("%s:%d: a curl example with no $API/$URL path: %s", file, start+1, cmd)
			continue
		}
		paths = append(paths, m[1])
		bm := curlBody.FindStringSubmatch(cmd)
		if bm == nil {
			continue
		}
		ex := curlExample{where: file + ":" + strconv.Itoa(start+1), path: m[1], body: bm[1]}
		for j := i + 1; j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "#"); j++ {
			if sm := curlStatus.FindStringSubmatch(strings.TrimSpace(lines[j])); sm != nil {
				n, _ := strconv.Atoi(sm[1])
				ex.statuses = append(ex.statuses, n)
			}
		}
		withBody = append(withBody, ex)
	}
	return withBody, paths
}

// docs are the pages whose curl examples a POS developer copies.
var docs = []string{"../../docs/api.md", "../../docs/payments.md", "../../README.md"}

// Every curl example with a body in the docs is posted to a running agent
// and answers what its comment says (or 2xx): the docs cannot drift from
// what the server takes again. The customer's values are the only ones
// replaced: a code the fake gateway issued for a well-formed one, and a
// freshly decoded sence_no (each code pays once); out_trade_no, amounts and
// every other field go as written.
func TestDocCurlExamples(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))
	n := 0
	for _, file := range docs {
		examples, paths := curlExamples(t, file)
		for _, ex := range examples {
			n++
			body := ex.body
			if m := codeKey.FindStringSubmatch(body); m != nil && scanner.ValidPaymentCode(m[1]) == nil {
				body = strings.Replace(body, m[0], `"code":"`+srv.IssueCode(plain.UserID)+`"`, 1)
			}
			if senceNoKey.MatchString(body) {
				sn := decodedSale(t, c, w, srv.IssueCode(plain.UserID))
				body = senceNoKey.ReplaceAllString(body, `"sence_no":"`+sn+`"`)
			}
			st, answer := c.do("POST", ex.path, body)
			ok := st >= 200 && st < 300
			if len(ex.statuses) > 0 {
				ok = false
				for _, want := range ex.statuses {
					ok = ok || st == want
				}
			}
			if !ok {
				t.Errorf("%s: POST %s %s: %d %s; the example says %v", ex.where, ex.path, ex.body, st, answer, ex.statuses)
			}
		}
		for _, p := range paths {
			if m := idInPath.FindStringSubmatch(p); m != nil {
				if err := (alipay.TradePayRequest{OutTradeNo: m[1], AuthCode: "0", Subject: "x", TotalAmount: "1.00"}).Validate(); err != nil {
					t.Errorf("%s: path %s: %v", file, p, err)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("found %d curl examples with a body in %v; the extraction is broken", n, docs)
	}
}

// Every out_trade_no the docs show, in a curl body, an event or an answer,
// is one the server takes.
func TestDocOutTradeNos(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range outTradeNo.FindAllStringSubmatch(string(b), -1) {
			n++
			if err := (alipay.TradePayRequest{OutTradeNo: m[1], AuthCode: "0", Subject: "x", TotalAmount: "1.00"}).Validate(); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no out_trade_no found in the docs")
	}
}
