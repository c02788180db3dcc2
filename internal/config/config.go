// Package config builds joist's one validated Config from flags, JOIST_*
// environment variables and an optional TOML file, in that order of
// precedence. Every error names the setting at fault.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/joist-dev/joist/internal/egress"
)

// Config is joist's whole configuration.
type Config struct {
	// Addr is where the HTTP server listens. JOIST_ADDR.
	Addr string `toml:"addr" env:"JOIST_ADDR" flag:"addr" help:"HTTP listen address"`
	// DataDir holds the SQLite database and generated secrets. JOIST_DATA.
	DataDir string `toml:"data" env:"JOIST_DATA" flag:"data" help:"data directory (SQLite database, generated secret key)"`
	// DatabaseURL selects PostgreSQL; empty means SQLite in DataDir. JOIST_DATABASE_URL.
	DatabaseURL string `toml:"database_url" env:"JOIST_DATABASE_URL" flag:"database-url" help:"postgres:// URL; empty for SQLite in the data directory"`
	// DatabaseSchema is the PostgreSQL schema joist's tables live in (search_path). JOIST_DATABASE_SCHEMA.
	DatabaseSchema string `toml:"database_schema" env:"JOIST_DATABASE_SCHEMA" flag:"database-schema" help:"PostgreSQL schema for joist's tables (default: the server's search_path)"`
	// RootKey, when set, is accepted as the root API key (32+ characters). JOIST_ROOT_KEY.
	RootKey string `toml:"root_key" env:"JOIST_ROOT_KEY" flag:"root-key" help:"root API key (32 or more characters)"`
	// PublicURL is the URL browsers and providers use. JOIST_PUBLIC_URL.
	PublicURL string `toml:"public_url" env:"JOIST_PUBLIC_URL" flag:"public-url" help:"public base URL; https turns on Secure cookies"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed. JOIST_TRUSTED_PROXIES (comma-separated).
	TrustedProxies []string `toml:"trusted_proxies" env:"JOIST_TRUSTED_PROXIES" flag:"trusted-proxies" help:"comma-separated CIDRs whose X-Forwarded-For is believed"`
	// SecretKey encrypts stored secrets (64 hex characters). JOIST_SECRET_KEY.
	SecretKey string `toml:"secret_key" env:"JOIST_SECRET_KEY" flag:"secret-key" help:"64 hex characters; generated on SQLite, required on PostgreSQL"`
	// OwnerEmail and OwnerPassword create the first owner operator. JOIST_OWNER_EMAIL, JOIST_OWNER_PASSWORD.
	OwnerEmail    string `toml:"owner_email" env:"JOIST_OWNER_EMAIL" flag:"owner-email" help:"email of the first owner operator"`
	OwnerPassword string `toml:"owner_password" env:"JOIST_OWNER_PASSWORD" flag:"owner-password" help:"password of the first owner operator (12+ characters)"`
	// LogFormat is text or json; LogLevel is debug, info, warn or error.
	LogFormat string `toml:"log_format" env:"JOIST_LOG_FORMAT" flag:"log-format" help:"text or json"`
	LogLevel  string `toml:"log_level" env:"JOIST_LOG_LEVEL" flag:"log-level" help:"debug, info, warn or error"`
	// MetricsToken, when set, is required as a bearer token on /metrics.
	MetricsToken string `toml:"metrics_token" env:"JOIST_METRICS_TOKEN" flag:"metrics-token" help:"bearer token required on /metrics (empty: open)"`
	// IdempotencyTTL is how long Idempotency-Key results are kept.
	IdempotencyTTL time.Duration `toml:"idempotency_ttl" env:"JOIST_IDEMPOTENCY_TTL" flag:"idempotency-ttl" help:"how long Idempotency-Key results are kept"`
	// MaxBodyBytes limits API request bodies (413 beyond).
	MaxBodyBytes int64 `toml:"max_body_bytes" env:"JOIST_MAX_BODY_BYTES" flag:"max-body-bytes" help:"largest accepted API request body in bytes"`
	// SessionTTL is the admin session idle lifetime.
	SessionTTL time.Duration `toml:"session_ttl" env:"JOIST_SESSION_TTL" flag:"session-ttl" help:"admin session idle lifetime"`
	// PprofAddr, when set, serves Go's runtime profiles (net/http/pprof)
	// on this loopback address, apart from the API: off by default, for
	// profiling under load (bench/emailbench sets it). JOIST_PPROF_ADDR.
	PprofAddr string `toml:"pprof_addr" env:"JOIST_PPROF_ADDR" flag:"pprof-addr" help:"loopback host:port serving Go's pprof profiles (empty: off)"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" env:"JOIST_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" help:"how long in-flight requests get on SIGTERM"`
	// FeedHeartbeat is how often a notification feed stream sends a
	// keep-alive comment.
	FeedHeartbeat time.Duration `toml:"feed_heartbeat" env:"JOIST_FEED_HEARTBEAT" flag:"feed-heartbeat" help:"how often a notification feed stream (SSE) sends a keep-alive comment"`

	// Queues configures job queues as name=workers pairs. JOIST_QUEUES ("default=100,critical=5").
	Queues []string `toml:"queues" env:"JOIST_QUEUES" flag:"queues" help:"job queues as name=workers, comma-separated"`
	// JobMaxTimeout is the longest timeout a job may ask for; it also sets
	// how soon a job left running by a crashed node is rescued (plus a margin).
	JobMaxTimeout time.Duration `toml:"job_max_timeout" env:"JOIST_JOB_MAX_TIMEOUT" flag:"job-max-timeout" help:"longest per-job timeout; stuck jobs are rescued after it plus a margin"`
	// JobPollInterval is how often the job engine looks for jobs it was
	// not woken for (retries and scheduled jobs coming due); 0 means the
	// default: 100ms on SQLite, 1s on PostgreSQL. New jobs start at once
	// without it.
	JobPollInterval time.Duration `toml:"job_poll_interval" env:"JOIST_JOB_POLL_INTERVAL" flag:"job-poll-interval" help:"how often the job engine looks for retries and scheduled jobs coming due (0: 100ms on SQLite, 1s on PostgreSQL)"`
	// RetryAfterCap bounds how long a push target's Retry-After may delay a retry.
	RetryAfterCap time.Duration `toml:"retry_after_cap" env:"JOIST_RETRY_AFTER_CAP" flag:"retry-after-cap" help:"largest Retry-After honoured for HTTP-push jobs"`
	// JobRetention is how long finished jobs (completed, cancelled, dead) are kept.
	CompletedJobRetention time.Duration `toml:"completed_job_retention" env:"JOIST_COMPLETED_JOB_RETENTION" flag:"completed-job-retention" help:"how long completed jobs are kept"`
	DeadJobRetention      time.Duration `toml:"dead_job_retention" env:"JOIST_DEAD_JOB_RETENTION" flag:"dead-job-retention" help:"how long dead and cancelled jobs are kept (the dead-letter view)"`
	// PushAllowedHosts, when set, restricts app destinations (HTTP-push
	// jobs, schedules, webhook forwards) to these hosts, checked when they
	// are saved and at dial time.
	PushAllowedHosts []string `toml:"push_allowed_hosts" env:"JOIST_PUSH_ALLOWED_HOSTS" flag:"push-allowed-hosts" help:"comma-separated hosts HTTP-push jobs, schedules and webhook forwards may call (empty: any)"`
	// EgressAllow names hosts, addresses and CIDRs every outbound request
	// may reach whatever its destination class (docs/egress.md). JOIST_EGRESS_ALLOW.
	EgressAllow []string `toml:"egress_allow" env:"JOIST_EGRESS_ALLOW" flag:"egress-allow" help:"comma-separated hosts, addresses and CIDRs outbound requests may reach despite the egress rules (metadata, private networks)"`
	// EgressDenyPrivate refuses loopback and private addresses to app
	// destinations too. JOIST_EGRESS_DENY_PRIVATE.
	EgressDenyPrivate bool `toml:"egress_deny_private" env:"JOIST_EGRESS_DENY_PRIVATE" flag:"egress-deny-private" help:"true: HTTP-push jobs, schedules and webhook forwards may not reach loopback or private addresses (unless in JOIST_EGRESS_ALLOW)"`

	// WebhookRetention is how long received webhook events, and so their
	// dedup keys, are kept (longer than any provider retries: Stripe, 3 days).
	WebhookRetention time.Duration `toml:"webhook_retention" env:"JOIST_WEBHOOK_RETENTION" flag:"webhook-retention" help:"how long inbound webhook events and their dedup keys are kept"`

	// StripeAPIKey, when set, makes billing refetch each subscription an
	// event names from Stripe's API and apply that current state. JOIST_STRIPE_API_KEY.
	StripeAPIKey string `toml:"stripe_api_key" env:"JOIST_STRIPE_API_KEY" flag:"stripe-api-key" help:"Stripe secret or restricted key (read subscriptions) to refetch subscriptions; empty: apply events as sent"`
	// StripeAPIBase is Stripe's API base URL. JOIST_STRIPE_API_BASE.
	StripeAPIBase string `toml:"stripe_api_base" env:"JOIST_STRIPE_API_BASE" flag:"stripe-api-base" help:"Stripe API base URL"`

	// EmailMaxBytes is the body limit of POST /v1/emails and
	// /v1/emails/batch (attachments are base64 in the JSON). JOIST_EMAIL_MAX_BYTES.
	EmailMaxBytes int64 `toml:"email_max_bytes" env:"JOIST_EMAIL_MAX_BYTES" flag:"email-max-bytes" help:"largest POST /v1/emails body in bytes (attachments included)"`
	// EmailProvider sends email: outbox (capture, never send), smtp, resend
	// or postmark. JOIST_EMAIL_PROVIDER.
	EmailProvider string `toml:"email_provider" env:"JOIST_EMAIL_PROVIDER" flag:"email-provider" help:"outbox (capture, never send), smtp, resend or postmark"`
	// EmailRate is the most provider API requests a second across every
	// node (0: the provider's default, 2 for resend, 10 for postmark; smtp
	// unlimited). JOIST_EMAIL_RATE.
	EmailRate int64 `toml:"email_rate" env:"JOIST_EMAIL_RATE" flag:"email-rate" help:"most email provider requests a second across the cluster (0: the provider's default)"`
	// NotifyEmailFrom is the sender of notification emails whose type
	// names none (empty: such a type's email deliveries fail, saying so).
	// JOIST_NOTIFY_EMAIL_FROM.
	NotifyEmailFrom string `toml:"notify_email_from" env:"JOIST_NOTIFY_EMAIL_FROM" flag:"notify-email-from" help:"sender of notification emails whose type names none"`
	// ResendAPIKey is Resend's API key (re_...). JOIST_RESEND_API_KEY.
	ResendAPIKey string `toml:"resend_api_key" env:"JOIST_RESEND_API_KEY" flag:"resend-api-key" help:"Resend API key, with JOIST_EMAIL_PROVIDER=resend"`
	// ResendAPIBase is Resend's API base URL. JOIST_RESEND_API_BASE.
	ResendAPIBase string `toml:"resend_api_base" env:"JOIST_RESEND_API_BASE" flag:"resend-api-base" help:"Resend API base URL"`
	// PostmarkServerToken is the Postmark server's API token. JOIST_POSTMARK_SERVER_TOKEN.
	PostmarkServerToken string `toml:"postmark_server_token" env:"JOIST_POSTMARK_SERVER_TOKEN" flag:"postmark-server-token" help:"Postmark server API token, with JOIST_EMAIL_PROVIDER=postmark"`
	// PostmarkAPIBase is Postmark's API base URL. JOIST_POSTMARK_API_BASE.
	PostmarkAPIBase string `toml:"postmark_api_base" env:"JOIST_POSTMARK_API_BASE" flag:"postmark-api-base" help:"Postmark API base URL"`
	// SMTPURL is the relay: smtp://user:pass@host:587?tls=starttls|none or smtps://user:pass@host:465. JOIST_SMTP_URL.
	SMTPURL string `toml:"smtp_url" env:"JOIST_SMTP_URL" flag:"smtp-url" help:"SMTP relay, smtp://user:pass@host:587 (?tls=starttls|none) or smtps://user:pass@host:465"`
	// SMTPCA is a PEM file of the CAs the relay's certificate is checked
	// against instead of the system's (test relays). JOIST_SMTP_CA.
	SMTPCA string `toml:"smtp_ca" env:"JOIST_SMTP_CA" flag:"smtp-ca" help:"PEM file of CAs trusted for the SMTP relay (default: the system's)"`
	// DNSServer is the resolver the server's domain checks ask (host:port;
	// default: the first nameserver of /etc/resolv.conf). JOIST_DNS_SERVER.
	DNSServer string `toml:"dns_server" env:"JOIST_DNS_SERVER" flag:"dns-server" help:"DNS server (host:port) of the domain checks (default: the first nameserver of /etc/resolv.conf)"`

	// VAPIDSubject is the instance's VAPID subject, a mailto: address or
	// an https: URL (a tenant's notification settings may name its own;
	// empty: JOIST_PUBLIC_URL when it is https). JOIST_VAPID_SUBJECT.
	VAPIDSubject string `toml:"vapid_subject" env:"JOIST_VAPID_SUBJECT" flag:"vapid-subject" help:"VAPID subject of web push, mailto:you@example.com or an https: URL (default: the public URL when https)"`
	// FCMCredentials is the Firebase service-account key file: its JSON
	// content, or the path of the file. JOIST_FCM_CREDENTIALS.
	FCMCredentials string `toml:"fcm_credentials" env:"JOIST_FCM_CREDENTIALS" flag:"fcm-credentials" help:"Firebase service-account JSON (its content, or the path of the file); empty: no FCM"`
	// FCMAPIBase is FCM's API base URL. JOIST_FCM_API_BASE.
	FCMAPIBase string `toml:"fcm_api_base" env:"JOIST_FCM_API_BASE" flag:"fcm-api-base" help:"FCM API base URL"`
	// FCMTokenURL is where the service account's assertion is exchanged
	// (empty: the file's token_uri). JOIST_FCM_TOKEN_URL.
	FCMTokenURL string `toml:"fcm_token_url" env:"JOIST_FCM_TOKEN_URL" flag:"fcm-token-url" help:"OAuth token URL of the service account (default: its token_uri)"`
	// APNsKey is the .p8 signing key: its PEM content or the path of the
	// file. JOIST_APNS_KEY.
	APNsKey string `toml:"apns_key" env:"JOIST_APNS_KEY" flag:"apns-key" help:"APNs .p8 signing key (its PEM content, or the path of the file); empty: no APNs"`
	// APNsKeyID, APNsTeamID and APNsTopic are the key's id, the team's id
	// and the app's bundle id. JOIST_APNS_KEY_ID, JOIST_APNS_TEAM_ID, JOIST_APNS_TOPIC.
	APNsKeyID  string `toml:"apns_key_id" env:"JOIST_APNS_KEY_ID" flag:"apns-key-id" help:"APNs key id (10 characters)"`
	APNsTeamID string `toml:"apns_team_id" env:"JOIST_APNS_TEAM_ID" flag:"apns-team-id" help:"Apple developer team id (10 characters)"`
	APNsTopic  string `toml:"apns_topic" env:"JOIST_APNS_TOPIC" flag:"apns-topic" help:"the app's bundle id (apns-topic)"`
	// APNsAPIBase is APNs' base URL. JOIST_APNS_API_BASE.
	APNsAPIBase string `toml:"apns_api_base" env:"JOIST_APNS_API_BASE" flag:"apns-api-base" help:"APNs base URL (https://api.sandbox.push.apple.com for development builds)"`
	// PushCA is a PEM file of extra CAs trusted for push services (test
	// servers), besides the system's. JOIST_PUSH_CA.
	PushCA string `toml:"push_ca" env:"JOIST_PUSH_CA" flag:"push-ca" help:"PEM file of extra CAs trusted for web push, FCM and APNs (test servers)"`

	// QueueWorkers is Queues parsed.
	QueueWorkers map[string]int `toml:"-"`
	// Trusted is TrustedProxies parsed.
	Trusted []netip.Prefix `toml:"-"`
}

var queueRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

var schemaRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Default returns the zero-configuration defaults.
func Default() Config {
	return Config{
		Addr:                  "127.0.0.1:8080",
		DataDir:               "./joist-data",
		LogFormat:             "text",
		LogLevel:              "info",
		IdempotencyTTL:        7 * 24 * time.Hour,
		Queues:                []string{"default=100"},
		JobMaxTimeout:         5 * time.Minute,
		RetryAfterCap:         time.Hour,
		CompletedJobRetention: 24 * time.Hour,
		DeadJobRetention:      7 * 24 * time.Hour,
		WebhookRetention:      30 * 24 * time.Hour,
		StripeAPIBase:         "https://api.stripe.com",
		MaxBodyBytes:          1 << 20,
		EmailMaxBytes:         10 << 20,
		EmailProvider:         "outbox",
		ResendAPIBase:         "https://api.resend.com",
		PostmarkAPIBase:       "https://api.postmarkapp.com",
		FCMAPIBase:            "https://fcm.googleapis.com",
		APNsAPIBase:           "https://api.push.apple.com",
		SessionTTL:            12 * time.Hour,
		ShutdownTimeout:       15 * time.Second,
		FeedHeartbeat:         15 * time.Second,
	}
}

// Flags registers one flag per setting on fs, plus --config, and returns a
// function that applies, after parsing, the settings in order of precedence.
func Flags(fs *flag.FlagSet) func(env func(string) string) (Config, error) {
	configPath := fs.String("config", "", "optional TOML config `file` (also JOIST_CONFIG)")
	raw := map[string]*settingFlag{}
	t := reflect.TypeOf(Config{})
	def := reflect.ValueOf(Default())
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		sf := &settingFlag{def: formatSetting(def.Field(i)), kind: typeName(f.Type)}
		raw[name] = sf
		fs.Var(sf, name, f.Tag.Get("help")+" ("+f.Tag.Get("env")+")")
	}
	fs.Usage = func() { printUsage(fs) }
	return func(env func(string) string) (Config, error) {
		cfg := Default()
		path := *configPath
		if path == "" {
			path = env("JOIST_CONFIG")
		}
		if path != "" {
			md, err := toml.DecodeFile(path, &cfg)
			if err != nil {
				return cfg, fmt.Errorf("config file %s: %w", path, err)
			}
			if und := md.Undecoded(); len(und) > 0 {
				return cfg, fmt.Errorf("config file %s: unknown setting %q (see docs/configuration.md)", path, und[0].String())
			}
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		v := reflect.ValueOf(&cfg).Elem()
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("flag")
			if name == "" {
				continue
			}
			if e := env(f.Tag.Get("env")); e != "" {
				if err := setField(v.Field(i), e); err != nil {
					return cfg, fmt.Errorf("%s: %w", f.Tag.Get("env"), err)
				}
			}
			if set[name] {
				if err := setField(v.Field(i), raw[name].raw); err != nil {
					return cfg, fmt.Errorf("--%s: %w", name, err)
				}
			}
		}
		return cfg, cfg.Validate()
	}
}

// settingFlag is one setting's flag: it keeps the raw text (parsed with the
// environment's rules after flags, env and file are merged) and shows the
// setting's default in -help.
type settingFlag struct {
	raw  string
	def  string
	kind string
}

func (f *settingFlag) String() string {
	if f == nil {
		return ""
	}
	return f.def
}

func (f *settingFlag) Set(s string) error { f.raw = s; return nil }

// IsBoolFlag lets a bool setting be given as a bare --name (true).
func (f *settingFlag) IsBoolFlag() bool { return f.kind == "bool" }

// printUsage lists fs's flags with what each takes and its default, like
// flag.PrintDefaults but naming the type of every setting (flag.Var
// would show them all as "value").
func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		if sf, ok := f.Value.(*settingFlag); ok {
			kind, def = sf.kind, sf.def
		}
		if kind == "bool" {
			kind = "" // a bare -name sets it, as for flag.Bool
		}
		fmt.Fprintf(w, "  -%s", f.Name)
		if kind != "" {
			fmt.Fprintf(w, " %s", kind)
		}
		fmt.Fprintf(w, "\n    \t%s", usage)
		if def != "" && def != "false" {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
}

// typeName is how -help names what a setting takes.
func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "duration"
	case reflect.TypeFor[int64]():
		return "int"
	case reflect.TypeFor[[]string]():
		return "list"
	case reflect.TypeFor[bool]():
		return "bool"
	}
	return "string"
}

// formatSetting writes a default the way a flag or variable would set it.
func formatSetting(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return formatDuration(x)
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

// formatDuration writes 168h rather than 168h0m0s.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func setField(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration; write it like \"90s\", \"5m\" or \"24h\"", s)
		}
		v.SetInt(int64(d))
	case int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case []string:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// Validate checks every setting and fills derived fields.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("JOIST_ADDR: %q is not host:port (example: 127.0.0.1:8080)", c.Addr))
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
			errs = append(errs, fmt.Errorf("JOIST_PPROF_ADDR: %q must be a loopback host:port (example: 127.0.0.1:6060): profiles are not for the network", c.PprofAddr))
		}
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("JOIST_DATA: must not be empty when JOIST_DATABASE_URL is not set"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("JOIST_DATABASE_URL: must start with postgres:// (leave it empty for SQLite)"))
	}
	if c.RootKey != "" && len(c.RootKey) < 32 {
		errs = append(errs, fmt.Errorf("JOIST_ROOT_KEY: must be at least 32 characters, got %d", len(c.RootKey)))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("JOIST_PUBLIC_URL: %q must be an absolute http:// or https:// URL", c.PublicURL))
		}
	}
	if c.StripeAPIBase != "" { // empty: https://api.stripe.com
		if u, err := url.Parse(c.StripeAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("JOIST_STRIPE_API_BASE: %q must be an absolute http:// or https:// URL", c.StripeAPIBase))
		}
	}
	if strings.ContainsAny(c.StripeAPIKey, " \t\r\n") {
		errs = append(errs, errors.New("JOIST_STRIPE_API_KEY: must not contain spaces or line breaks"))
	}
	if _, err := egress.ParseAllow(c.EgressAllow); err != nil {
		errs = append(errs, fmt.Errorf("JOIST_EGRESS_ALLOW: %w", err))
	}
	if c.DatabaseSchema != "" && !schemaRE.MatchString(c.DatabaseSchema) {
		errs = append(errs, fmt.Errorf("JOIST_DATABASE_SCHEMA: %q must be a plain identifier (letters, digits, _)", c.DatabaseSchema))
	}
	c.Trusted = nil
	for _, p := range c.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			if a, err2 := netip.ParseAddr(p); err2 == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				errs = append(errs, fmt.Errorf("JOIST_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", p))
				continue
			}
		}
		c.Trusted = append(c.Trusted, pfx.Masked())
	}
	if c.SecretKey != "" {
		if b, err := hexDecode(c.SecretKey); err != nil || len(b) != 32 {
			errs = append(errs, errors.New("JOIST_SECRET_KEY: must be 64 hex characters (32 bytes); generate one with: openssl rand -hex 32"))
		}
	} else if c.DatabaseURL != "" {
		errs = append(errs, errors.New("JOIST_SECRET_KEY: required with PostgreSQL, and the same on every node; generate one with: openssl rand -hex 32"))
	}
	if (c.OwnerEmail == "") != (c.OwnerPassword == "") {
		errs = append(errs, errors.New("JOIST_OWNER_EMAIL and JOIST_OWNER_PASSWORD: set both or neither"))
	}
	if c.OwnerEmail != "" && !strings.Contains(c.OwnerEmail, "@") {
		errs = append(errs, fmt.Errorf("JOIST_OWNER_EMAIL: %q is not an email address", c.OwnerEmail))
	}
	if c.OwnerPassword != "" && len(c.OwnerPassword) < 12 {
		errs = append(errs, errors.New("JOIST_OWNER_PASSWORD: must be at least 12 characters"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("JOIST_LOG_FORMAT: %q must be text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("JOIST_LOG_LEVEL: %q must be debug, info, warn or error", c.LogLevel))
	}
	if c.IdempotencyTTL < time.Minute {
		errs = append(errs, errors.New("JOIST_IDEMPOTENCY_TTL: must be at least 1m"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("JOIST_MAX_BODY_BYTES: must be at least 1024"))
	}
	if c.EmailMaxBytes < 64<<10 {
		errs = append(errs, errors.New("JOIST_EMAIL_MAX_BYTES: must be at least 65536"))
	}
	switch c.EmailProvider {
	case "", "outbox":
	case "smtp":
		if c.SMTPURL == "" {
			errs = append(errs, errors.New("JOIST_SMTP_URL: required with JOIST_EMAIL_PROVIDER=smtp (smtp://user:pass@host:587)"))
		}
	case "resend":
		if c.ResendAPIKey == "" {
			errs = append(errs, errors.New("JOIST_RESEND_API_KEY: required with JOIST_EMAIL_PROVIDER=resend"))
		}
	case "postmark":
		if c.PostmarkServerToken == "" {
			errs = append(errs, errors.New("JOIST_POSTMARK_SERVER_TOKEN: required with JOIST_EMAIL_PROVIDER=postmark"))
		}
	default:
		errs = append(errs, fmt.Errorf("JOIST_EMAIL_PROVIDER: %q must be outbox, smtp, resend or postmark", c.EmailProvider))
	}
	for name, base := range map[string]string{"JOIST_RESEND_API_BASE": c.ResendAPIBase, "JOIST_POSTMARK_API_BASE": c.PostmarkAPIBase} {
		if base == "" {
			continue // the provider's default
		}
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q must be an absolute http:// or https:// URL", name, base))
		}
	}
	if c.NotifyEmailFrom != "" {
		if a, err := mail.ParseAddress(c.NotifyEmailFrom); err != nil || !strings.Contains(a.Address, "@") {
			errs = append(errs, fmt.Errorf("JOIST_NOTIFY_EMAIL_FROM: %q is not an address such as \"Acme <hello@acme.example>\"", c.NotifyEmailFrom))
		}
	}
	errs = append(errs, c.validatePush()...)
	if c.EmailRate < 0 || c.EmailRate > 10000 {
		errs = append(errs, errors.New("JOIST_EMAIL_RATE: must be 0 (the provider's default) to 10000 requests a second"))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("JOIST_SESSION_TTL: must be at least 1m"))
	}
	c.QueueWorkers = map[string]int{}
	for _, q := range c.Queues {
		name, n, ok := strings.Cut(q, "=")
		workers, err := strconv.Atoi(n)
		if !ok || err != nil || workers < 1 || workers > 10000 || !queueRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("JOIST_QUEUES: %q must be name=workers, such as default=20 (name: a-z, 0-9, _ and -)", q))
			continue
		}
		c.QueueWorkers[name] = workers
	}
	if len(c.QueueWorkers) == 0 && len(c.Queues) == 0 {
		errs = append(errs, errors.New("JOIST_QUEUES: configure at least one queue, such as default=20"))
	}
	if c.JobMaxTimeout < time.Second {
		errs = append(errs, errors.New("JOIST_JOB_MAX_TIMEOUT: must be at least 1s"))
	}
	if c.JobPollInterval != 0 && (c.JobPollInterval < 10*time.Millisecond || c.JobPollInterval > 24*time.Hour) {
		errs = append(errs, errors.New("JOIST_JOB_POLL_INTERVAL: must be between 10ms and 24h (or 0 for the default)"))
	}
	if c.RetryAfterCap < time.Second {
		errs = append(errs, errors.New("JOIST_RETRY_AFTER_CAP: must be at least 1s"))
	}
	if c.CompletedJobRetention < time.Minute || c.DeadJobRetention < time.Minute {
		errs = append(errs, errors.New("JOIST_COMPLETED_JOB_RETENTION and JOIST_DEAD_JOB_RETENTION: must be at least 1m"))
	}
	if c.WebhookRetention < 4*24*time.Hour {
		errs = append(errs, errors.New("JOIST_WEBHOOK_RETENTION: must be at least 96h, longer than providers retry (Stripe retries for 3 days)"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("JOIST_SHUTDOWN_TIMEOUT: must be positive"))
	}
	if c.FeedHeartbeat < 100*time.Millisecond || c.FeedHeartbeat > 10*time.Minute {
		errs = append(errs, errors.New("JOIST_FEED_HEARTBEAT: must be from 100ms to 10m (proxies close idle connections after about a minute)"))
	}
	return errors.Join(errs...)
}

// BaseURL is PublicURL, or one derived from Addr.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// EgressPolicy is the egress settings as the guarded client takes them.
func (c *Config) EgressPolicy() egress.Policy {
	return egress.Policy{Allow: c.EgressAllow, DenyPrivate: c.EgressDenyPrivate, AppHosts: c.PushAllowedHosts}
}

// SecureCookies reports whether cookies must be Secure (public URL is https).
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// Getenv is os.Getenv, for callers that pass the real environment.
func Getenv(k string) string { return os.Getenv(k) }
