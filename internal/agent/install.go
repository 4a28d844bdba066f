package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"posagent/internal/alipay"
	"posagent/internal/appkey"
	"posagent/internal/config"
	"posagent/internal/doctor"
)

// ConfigFile is the configuration's name in the directory `posagent init`
// fills and in the demo's data directory.
const ConfigFile = "posagent.json"

// Init prepares dir for a new till: a configuration skeleton and a new
// application key pair, then prints the public key to upload and what to do
// next. It refuses to replace an existing configuration or key.
func Init(w io.Writer, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, ConfigFile)
	if _, err := os.Lstat(cfgPath); err == nil {
		return fmt.Errorf("%s exists: not replaced", cfgPath)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	pair, err := appkey.Generate(dir)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(cfgPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = f.Write(config.Skeleton(alipay.DefaultGatewayURL, appkey.PrivateFile))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(pair.PrivatePath)
		os.Remove(pair.PublicPath)
		os.Remove(cfgPath)
		return fmt.Errorf("write %s: %w", cfgPath, err)
	}
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		abs = cfgPath
	}
	_, err = fmt.Fprintf(w, `Wrote:
  %s   the configuration skeleton (every key; the empty ones are yours to fill)
  %s   the application private key (mode 0600: it never leaves this PC)
  %s   its public key

Application public key, for the Alipay console (开放平台 → 应用 → 开发设置 →
接口加签方式 → 公钥: paste this one line):

%s

The same key as PEM:

%s
Next steps:
  1. Upload the key above in the Alipay console, then download the Alipay
     public key it shows (支付宝公钥) into %s and set
     "alipay_public_key" to its path. For certificate mode set app_cert,
     alipay_cert and alipay_root_cert instead (the console's three .crt files).
  2. Fill in app_id, pay_pid (your 2088… PID), terminal_id (unique per till)
     and the scanner ("posagent scanners" lists what this PC sees).
  3. Check everything:  posagent doctor --config %s
  4. Run it:            posagent run --config %s   (or install the service)
`, cfgPath, pair.PrivatePath, pair.PublicPath, pair.Console, pair.PEM, dir, abs, abs)
	return err
}

// Doctor checks the setup the configuration at path describes and prints
// one line per check on w. It returns how many checks failed; err is only
// for a report that could not be written.
func Doctor(ctx context.Context, w io.Writer, path string) (failed int, err error) {
	c, err := config.Read(path)
	if err != nil {
		return doctor.Write(w, []doctor.Check{{Name: "config", Detail: fmt.Sprintf("%s: %v", path, err),
			Fix: "fix the file (docs/install-linux.md explains every key), or make a new one with posagent init"}})
	}
	return doctor.Write(w, doctor.Run(ctx, DoctorOptions(path, c, c.Validate())))
}

// DoctorOptions are the checks' inputs from a configuration; cfgErr is
// what validating it found.
func DoctorOptions(path string, c *config.Config, cfgErr error) doctor.Options {
	return doctor.Options{
		ConfigPath: path, ConfigErr: cfgErr,
		GatewayURL: cmp.Or(c.GatewayURL, alipay.DefaultGatewayURL), AppID: c.AppID, SignType: c.SignType, Charset: c.Charset,
		AppAuthToken: c.AppAuthToken, PayPID: c.PayPID,
		AppPrivateKey: c.AppPrivateKey, AlipayPublicKey: c.AlipayPublicKey,
		AppCert: c.AppCert, AlipayCert: c.AlipayCert, AlipayRootCert: c.AlipayRootCert, EncryptKey: c.EncryptKey,
		DataDir: c.DataDir, DBFile: DBFile,
		Scanner:   doctor.Scanner{Kind: c.Scanner.Kind, Port: c.Scanner.Port, VID: c.Scanner.VID, PID: c.Scanner.PID},
		APIListen: c.API.ListenAddr(),
	}
}

// WriteConfig saves the agent's configuration as dir/posagent.json, with
// api.listen the address the local API listens on (the demo picks a free
// port): `posagent doctor` can then check the running demo, its API port
// included.
func (a *Agent) WriteConfig(dir string) error {
	c := *a.Config
	if a.API != nil {
		if u, err := url.Parse(a.API.URL()); err == nil {
			c.API.Listen = u.Host
		}
	}
	return config.Save(filepath.Join(dir, ConfigFile), &c)
}
