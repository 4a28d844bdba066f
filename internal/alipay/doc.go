// Package alipay is posagent's client of the Alipay Open Platform gateway.
//
// A Client signs each request (RSA2 or RSA, in utf-8 or GBK, optionally with
// AES content encryption), sends it, and accepts an answer only once its
// signature verifies over the bytes exactly as received, in public-key or
// certificate mode. Every gateway method has one file holding its request,
// its response and the words of its errors: twostage.go
// (alipay.user.twostage.common.use), pass.go (alipay.pass.instance.add),
// agreement.go (alipay.user.agreement.auth.confirm), trade_pay.go,
// trade_query.go, trade_cancel.go (stage two), apppay.go and notify.go (the
// app-pay order string and its notifications), cert.go (certificate mode and
// alipay.open.app.alipaycert.download). Each goes through one envelope, send
// in call.go; errors.go holds what a call can fail with, and Retryable and
// Unreachable tell them apart.
//
// The package reads no configuration file: NewClient takes parsed keys,
// NewClientFromFiles the paths of the files that hold them.
package alipay
