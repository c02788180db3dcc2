package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	apply := Flags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return apply(func(k string) string { return env[k] })
}

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./joist-data" || c.DatabaseURL != "" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.BaseURL() != "http://127.0.0.1:8080" || c.SecureCookies() {
		t.Fatalf("base url %s", c.BaseURL())
	}
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joist.toml")
	os.WriteFile(file, []byte("addr = \"127.0.0.1:7000\"\ndata = \"/from/file\"\nlog_level = \"warn\"\nsession_ttl = \"1h\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n"), 0o600)
	c, err := load(t, []string{"--config", file, "--addr", "127.0.0.1:9000"},
		map[string]string{"JOIST_ADDR": "127.0.0.1:8000", "JOIST_DATA": "/from/env"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("flag must win: %s", c.Addr)
	}
	if c.DataDir != "/from/env" {
		t.Errorf("env must beat file: %s", c.DataDir)
	}
	if c.LogLevel != "warn" || c.SessionTTL != time.Hour || len(c.Trusted) != 1 {
		t.Errorf("file values lost: %+v", c)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"JOIST_ADDR": "nonsense"}, want: "JOIST_ADDR"},
		{env: map[string]string{"JOIST_ROOT_KEY": "short"}, want: "JOIST_ROOT_KEY: must be at least 32"},
		{env: map[string]string{"JOIST_DATABASE_URL": "mysql://x"}, want: "JOIST_DATABASE_URL"},
		{env: map[string]string{"JOIST_DATABASE_URL": "postgres://x/y"}, want: "JOIST_SECRET_KEY: required with PostgreSQL"},
		{env: map[string]string{"JOIST_SECRET_KEY": "abc"}, want: "JOIST_SECRET_KEY: must be 64 hex"},
		{env: map[string]string{"JOIST_PUBLIC_URL": "example.com"}, want: "JOIST_PUBLIC_URL"},
		{env: map[string]string{"JOIST_STRIPE_API_BASE": "api.stripe.com"}, want: "JOIST_STRIPE_API_BASE"},
		{args: []string{"--stripe-api-base", "ftp://x"}, want: "JOIST_STRIPE_API_BASE"},
		{env: map[string]string{"JOIST_TRUSTED_PROXIES": "10.0.0.0/8, bogus"}, want: `JOIST_TRUSTED_PROXIES: "bogus"`},
		{env: map[string]string{"JOIST_OWNER_EMAIL": "a@b.c"}, want: "set both or neither"},
		{env: map[string]string{"JOIST_SESSION_TTL": "forever"}, want: `JOIST_SESSION_TTL: "forever" is not a duration`},
		{env: map[string]string{"JOIST_LOG_FORMAT": "xml"}, want: "JOIST_LOG_FORMAT"},
		{env: map[string]string{"JOIST_DATABASE_SCHEMA": "a;drop"}, want: "JOIST_DATABASE_SCHEMA"},
		{args: []string{"--max-body-bytes", "lots"}, want: "--max-body-bytes"},
		{env: map[string]string{"JOIST_EGRESS_ALLOW": "10.0.0.0/8, http://x/"}, want: `JOIST_EGRESS_ALLOW: "http://x/" is not a host`},
		{env: map[string]string{"JOIST_EGRESS_DENY_PRIVATE": "sometimes"}, want: `JOIST_EGRESS_DENY_PRIVATE: "sometimes" is not true or false`},
		{env: map[string]string{"JOIST_PPROF_ADDR": "0.0.0.0:6060"}, want: "JOIST_PPROF_ADDR: \"0.0.0.0:6060\" must be a loopback"},
		{env: map[string]string{"JOIST_PPROF_ADDR": ":6060"}, want: "JOIST_PPROF_ADDR"},
		{env: map[string]string{"JOIST_PPROF_ADDR": "example.com:6060"}, want: "JOIST_PPROF_ADDR"},
		{env: map[string]string{"JOIST_JOB_POLL_INTERVAL": "1ms"}, want: "JOIST_JOB_POLL_INTERVAL: must be between 10ms and 24h"},
		{env: map[string]string{"JOIST_JOB_POLL_INTERVAL": "often"}, want: `JOIST_JOB_POLL_INTERVAL: "often" is not a duration`},
	}
	for _, c := range cases {
		_, err := load(t, c.args, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want mention of %q", c.env, c.args, err, c.want)
		}
	}
	file := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(file, []byte("adr = \"x\"\n"), 0o600)
	if _, err := load(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), `unknown setting "adr"`) {
		t.Errorf("unknown TOML key: %v", err)
	}
}

// TestPprofAddrIsLoopbackOnly: Go's profiles are served only when asked
// for, and only on a loopback address.
func TestPprofAddrIsLoopbackOnly(t *testing.T) {
	cfg, err := load(t, nil, nil)
	if err != nil || cfg.PprofAddr != "" {
		t.Fatalf("default: %q %v", cfg.PprofAddr, err)
	}
	for _, a := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		if cfg, err := load(t, nil, map[string]string{"JOIST_PPROF_ADDR": a}); err != nil || cfg.PprofAddr != a {
			t.Errorf("%s: %q %v", a, cfg.PprofAddr, err)
		}
	}
}

func TestSecretKeyGeneratedOnceWithMode0600(t *testing.T) {
	c := Default()
	c.DataDir = t.TempDir()
	k1, err := c.SecretKeyBytes()
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(c.DataDir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key mode: %v %v", st.Mode(), err)
	}
	k2, _ := c.SecretKeyBytes()
	if string(k1) != string(k2) {
		t.Fatal("secret key changed between starts")
	}
}

func TestTrustedProxyAddressesBecomeHostPrefixes(t *testing.T) {
	c, err := load(t, nil, map[string]string{"JOIST_TRUSTED_PROXIES": "127.0.0.1,::1,192.168.0.0/16"})
	if err != nil || len(c.Trusted) != 3 || c.Trusted[0].Bits() != 32 || c.Trusted[1].Bits() != 128 {
		t.Fatalf("%v %v", c.Trusted, err)
	}
}

func TestEgressSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joist.toml")
	os.WriteFile(file, []byte("egress_allow = [\"169.254.169.254\", \"hooks.internal\"]\negress_deny_private = true\n"), 0o600)
	c, err := load(t, []string{"--config", file}, map[string]string{"JOIST_PUSH_ALLOWED_HOSTS": "app.internal"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.EgressPolicy()
	if len(p.Allow) != 2 || !p.DenyPrivate || len(p.AppHosts) != 1 || p.AppHosts[0] != "app.internal" {
		t.Fatalf("egress policy from file and environment: %+v", p)
	}
	c, err = load(t, []string{"--egress-deny-private=false"}, map[string]string{"JOIST_EGRESS_DENY_PRIVATE": "true", "JOIST_EGRESS_ALLOW": "10.0.0.0/8,fd00:ec2::254"})
	if err != nil || c.EgressDenyPrivate || len(c.EgressAllow) != 2 {
		t.Fatalf("flag over environment: %v %+v", err, c.EgressPolicy())
	}
	// A bool setting's flag alone means true, as for any Go bool flag.
	if c, err = load(t, []string{"--egress-deny-private"}, nil); err != nil || !c.EgressDenyPrivate {
		t.Fatalf("bare bool flag: %v %v", err, c.EgressDenyPrivate)
	}
}
