package ui

import (
	"context"
	"errors"
	"strings"

	"github.com/rivo/tview"

	"posagent/internal/alipay"
	"posagent/internal/redact"
)

const pageAgreement = "agreement"

// AgreementConfirmer confirms the SMS code a customer received for a
// deduction agreement (alipay.Client).
type AgreementConfirmer interface {
	AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error
}

// agreementDialog: staff type agreement_no, apply_token and the customer's
// SMS code, and read the gateway's answer in plain words.
type agreementDialog struct {
	*dialog
	confirmer                 AgreementConfirmer
	agreementNo, token, smsNo *tview.InputField
}

func newAgreementDialog(a *App, c AgreementConfirmer) *agreementDialog {
	d := &agreementDialog{dialog: newDialog(a, "Agreement SMS confirmation — alipay.user.agreement.auth.confirm"), confirmer: c}
	d.agreementNo = d.input("agreement_no", 64)
	d.token = d.input("apply_token", 64)
	d.smsNo = d.input("SMS code", 10)
	d.form.AddButton("Confirm F9", d.send).AddButton("Close Esc", func() { a.show(pageCheckout) })
	d.fit()
	d.say(" Enter the agreement number, the apply token and the code the customer received by SMS.")
	return d
}

func (d *agreementDialog) send() {
	if d.confirmer == nil {
		d.say(" %s%s Not available:%s this posagent has no gateway client (check the settings).", tagBad, symBad, tagOff)
		return
	}
	if m := missing(d.agreementNo, d.token, d.smsNo); m != "" {
		d.say(" %s%s Missing:%s %s.", tagBad, symBad, tagOff, m)
		return
	}
	req := alipay.AgreementAuthConfirmRequest{
		AgreementNo:   strings.TrimSpace(d.agreementNo.GetText()),
		ApplyToken:    strings.TrimSpace(d.token.GetText()),
		AuthConfirmNo: strings.TrimSpace(d.smsNo.GetText()),
	}
	d.run(func(ctx context.Context) error {
		return d.confirmer.AgreementAuthConfirm(ctx, req)
	}, func(err error) {
		if err == nil {
			d.say(" %s%s CONFIRMED%s: the customer's agreement %s is confirmed.", tagOK, symOK, tagOff, tview.Escape(req.AgreementNo))
			d.smsNo.SetText("")
			return
		}
		d.say(" %s%s NOT CONFIRMED%s: %s", tagBad, symBad, tagOff, tview.Escape(agreementWords(err)))
	})
}

// agreementWords says what an AgreementAuthConfirm failure means and what
// to do, following the method's page of business error codes.
func agreementWords(err error) string {
	var e *alipay.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "Alipay did not answer in time. Nothing is known to have changed: try again."
		}
		return "Could not reach Alipay (" + err.Error() + "). Check the network and try again."
	}
	switch e.SubCode {
	case alipay.SubValidateCodeAnswerError:
		return "The SMS code is wrong. Start a new confirmation request so the customer gets a new code."
	case alipay.SubValidateCodeExpired:
		return "The SMS code has expired. Start a new confirmation request so the customer gets a new code."
	case alipay.SubValidateCodeTimesLimit:
		return "Too many tries with this code. Start a new confirmation request so the customer gets a new code."
	case alipay.SubValidateCodeNotExist:
		return "There is no such SMS code (it may have been used). Start a new confirmation request."
	case alipay.SubAgreementNotExist:
		return "Agreement not found: check the agreement number and whether the customer has signed."
	case alipay.SubAuthTokenNotExist:
		return "The apply token was not found: start the confirmation request again."
	case alipay.SubMerchantAgreementMissing:
		return "The merchant has no deduction contract with Alipay: the merchant must sign one first."
	case alipay.SubMerchantStatusNotNormal:
		return "The merchant's contract with Alipay is not in force: the merchant must check and sign it again."
	case alipay.SubMerchantAgreementExpired:
		return "The merchant's contract with Alipay has expired: the merchant must sign it again."
	case alipay.SubUserAgreementNotNormal:
		return "The customer's agreement is no longer in force: the customer must sign again."
	case alipay.SubUserAgreementExpired:
		return "The customer's agreement has expired: the customer must sign again."
	case alipay.SubRiskBalancePayClosed:
		return "Alipay risk control: the customer's balance payment is switched off; the customer must switch it on in Alipay."
	case alipay.SubRiskAccountFrozen:
		return "Alipay risk control: the customer's Alipay account is frozen; the customer must have it unfrozen."
	case alipay.SubInvalidParameter:
		return "Alipay refused a value: check the agreement number, the apply token and the code."
	case alipay.SubSystemError, alipay.SubUnknownError:
		return "Alipay is busy. Try again in a moment."
	}
	// The gateway's own errors (isv.*) are about the terminal's setup, not
	// the customer: the cashier can do nothing but call support, and their
	// text is not for the screen (for a bad signature it quotes the request).
	switch {
	case e.SubCode == alipay.SubInvalidSignature, e.SubCode == "isv.missing-signature-config":
		return "The terminal's key does not match the app's public key on Alipay: call support."
	case strings.HasPrefix(e.SubCode, "isv."):
		return "Alipay refused the terminal's configuration (" + e.SubCode + "): call support."
	}
	if e.Code == "" {
		return "Could not reach Alipay (" + e.Error() + "). Check the network and try again."
	}
	return "Alipay refused: " + redact.DigitRuns(strings.TrimSpace(e.Code+" "+e.Msg+" "+e.SubCode+" "+e.SubMsg))
}
