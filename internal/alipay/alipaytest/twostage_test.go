package alipaytest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
)

const payPID = "2088702093900999"

func decode(t testing.TB, s *Server, code, sence string) *answer {
	t.Helper()
	return s.do(t, call{method: alipay.MethodTwostageCommonUse,
		biz: bizJSON(t, map[string]string{"dynamic_id": code, "sence_no": sence, "pay_pid": payPID})})
}

func TestTwostageUsers(t *testing.T) {
	s := newServer(t)
	school := &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}
	s.AddUser(User{UserID: "2088123412341234", School: school, Authorised: true})
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	s.AddUser(User{UserID: "2088000000000002"})

	a := decode(t, s, s.IssueCode("2088123412341234"), "T1-1")
	s.business(t, a, alipay.CodeSuccess, "")
	info, _ := a.fields["user_identity_info"].(map[string]any)
	hs, _ := info["h_school_info"].(map[string]any)
	if a.str("user_id") != "2088123412341234" || hs["school_std_code"] != "4136013432" || hs["campus_no"] != "2019021208" {
		t.Fatalf("student: %s", a.value)
	}
	if a.key != "alipay_user_twostage_common_use_response" {
		t.Fatalf("key %q", a.key)
	}

	a = decode(t, s, s.IssueCode("2088000000000001"), "T1-2")
	s.business(t, a, alipay.CodeSuccess, "")
	if a.str("user_id") != "2088000000000001" || a.fields["user_identity_info"] != nil {
		t.Fatalf("plain user: %s", a.value)
	}

	for _, tt := range []struct {
		name, code, sub string
	}{
		{"not authorised", s.IssueCode("2088000000000002"), alipay.SubUserUnAuth},
		{"expired", s.ExpiredCode("2088000000000001"), alipay.SubCodeExpired},
		{"illegal", s.IllegalCode(), alipay.SubIllegalCode},
		{"not a payment code", "123456789012345678", alipay.SubIllegalCode},
		{"letters", "28abcdefabcdefabcd", alipay.SubIllegalCode},
		{"unknown code", "280000000000000001", alipay.SubIndexNotExist},
		{"unknown user", s.IssueCode("2088999999999999"), alipay.SubIndexNotExist},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.business(t, decode(t, s, tt.code, "T1-"+tt.name), alipay.CodeBusinessFailed, tt.sub)
		})
	}
}

func TestTwostageParameters(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	digits := func(n int) string { return "28" + strings.Repeat("1", n-2) }
	valid := func() map[string]any {
		return map[string]any{"dynamic_id": s.IssueCode("2088000000000001"), "sence_no": fmt.Sprint(time.Now().UnixNano()), "pay_pid": payPID}
	}
	for _, tt := range []struct {
		name   string
		change func(m map[string]any)
		sub    string
	}{
		{"all valid", func(map[string]any) {}, ""},
		{"no dynamic_id", func(m map[string]any) { delete(m, "dynamic_id") }, alipay.SubInputIllegal},
		{"no sence_no", func(m map[string]any) { delete(m, "sence_no") }, alipay.SubInputIllegal},
		{"no pay_pid", func(m map[string]any) { delete(m, "pay_pid") }, alipay.SubInputIllegal},
		{"empty sence_no", func(m map[string]any) { m["sence_no"] = "" }, alipay.SubInputIllegal},
		{"numeric dynamic_id", func(m map[string]any) { m["dynamic_id"] = 281234567890123456 }, alipay.SubInputIllegal},
		{"dynamic_id 32 (checked as a code)", func(m map[string]any) { m["dynamic_id"] = digits(32) }, alipay.SubIllegalCode},
		{"dynamic_id 33", func(m map[string]any) { m["dynamic_id"] = digits(33) }, alipay.SubInputIllegal},
		{"sence_no 128", func(m map[string]any) { m["sence_no"] = strings.Repeat("s", 128) }, ""},
		{"sence_no 129", func(m map[string]any) { m["sence_no"] = strings.Repeat("s", 129) }, alipay.SubInputIllegal},
		{"sence_no 128 Chinese characters", func(m map[string]any) { m["sence_no"] = strings.Repeat("码", 128) }, ""},
		{"pay_pid 32", func(m map[string]any) { m["pay_pid"] = strings.Repeat("2", 32) }, ""},
		{"pay_pid 33", func(m map[string]any) { m["pay_pid"] = strings.Repeat("2", 33) }, alipay.SubInputIllegal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.change(m)
			a := s.do(t, call{method: alipay.MethodTwostageCommonUse, biz: bizJSON(t, m)})
			code := alipay.CodeSuccess
			if tt.sub != "" {
				code = alipay.CodeBusinessFailed
			}
			s.business(t, a, code, tt.sub)
		})
	}
	for name, biz := range map[string]string{"no biz_content": "", "not JSON": "{dynamic_id:", "an array": `["x"]`, "null": "null", "two objects": "{}{}"} {
		t.Run(name, func(t *testing.T) {
			s.business(t, s.do(t, call{method: alipay.MethodTwostageCommonUse, biz: biz}), alipay.CodeBusinessFailed, alipay.SubInputIllegal)
		})
	}
}

func TestTwostageSenceNo(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	code := s.IssueCode("2088000000000001")

	first := decode(t, s, code, "T1-20260301-1")
	s.business(t, first, alipay.CodeSuccess, "")
	again := decode(t, s, code, "T1-20260301-1") // a retry carries the same sence_no
	s.business(t, again, alipay.CodeSuccess, "")
	if again.str("user_id") != first.str("user_id") {
		t.Fatalf("retry decoded %s, first %s", again.str("user_id"), first.str("user_id"))
	}
	s.business(t, decode(t, s, code, "T1-20260301-2"), alipay.CodeBusinessFailed, alipay.SubSenceNoUnMatch)
	// The first sence_no still decodes the code afterwards.
	s.business(t, decode(t, s, code, "T1-20260301-1"), alipay.CodeSuccess, "")
	// Another code may not reuse a sence_no.
	s.business(t, decode(t, s, s.IssueCode("2088000000000001"), "T1-20260301-1"), alipay.CodeBusinessFailed, alipay.SubSenceNoUnMatch)
}

func TestTwostageSenceNoRecordedForUnauthorisedUser(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{UserID: "2088000000000002"})
	code := s.IssueCode("2088000000000002")
	s.business(t, decode(t, s, code, "A"), alipay.CodeBusinessFailed, alipay.SubUserUnAuth)
	s.business(t, decode(t, s, code, "B"), alipay.CodeBusinessFailed, alipay.SubSenceNoUnMatch)
}

func TestTwostageCodeExpiresOnServerClock(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now), WithCodeTTL(30*time.Second))
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	code := s.IssueCode("2088000000000001")
	clock.Add(29 * time.Second)
	s.business(t, decode(t, s, code, "S1"), alipay.CodeSuccess, "")
	clock.Add(time.Second)
	s.business(t, decode(t, s, code, "S1"), alipay.CodeBusinessFailed, alipay.SubCodeExpired)
}

func TestTwostageDefaultTTL(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	code := s.IssueCode("2088000000000001")
	clock.Add(DefaultCodeTTL - time.Second)
	s.business(t, decode(t, s, code, "S1"), alipay.CodeSuccess, "")
	clock.Add(time.Second)
	s.business(t, decode(t, s, code, "S1"), alipay.CodeBusinessFailed, alipay.SubCodeExpired)
}

func TestIssuedCodesAreValidPaymentCodes(t *testing.T) {
	s := newServer(t)
	seen := map[string]bool{}
	for range 200 {
		for _, c := range []string{s.IssueCode("u"), s.ExpiredCode("u"), s.IllegalCode()} {
			if len(c) != 18 || !paymentCode.MatchString(c) || seen[c] {
				t.Fatalf("code %q: want a fresh 18-digit payment code", c)
			}
			seen[c] = true
		}
	}
}

func TestTwostageConcurrent(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.post(t, call{method: alipay.MethodTwostageCommonUse,
				biz: bizJSON(t, map[string]string{"dynamic_id": s.IssueCode("2088000000000001"), "sence_no": fmt.Sprint("C", i), "pay_pid": payPID})})
			if err != nil || a.str("code") != alipay.CodeSuccess {
				errs <- fmt.Sprint(err, a)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(s.Requests()); n != 8 {
		t.Fatalf("%d requests recorded, want 8", n)
	}
}
