package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP sends through a relay with go-smtp's client, over the dialer it is
// given (the guarded dialer of operator destinations, in joist).
type SMTP struct {
	addr        string // host:port
	host        string
	implicitTLS bool
	startTLS    bool
	user, pass  string
	tls         *tls.Config
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	// Hello is the name joist gives in EHLO (default "localhost").
	Hello string
	// pool keeps idle connections to the relay for the next messages.
	pool smtpPool
}

// ParseSMTPURL reads JOIST_SMTP_URL: smtp://user:pass@host:port with
// ?tls=starttls (default) or ?tls=none, port 587 by default; smtps:// for
// implicit TLS, port 465 by default. caPEM, when given, is the only CA the
// relay's certificate is checked against (JOIST_SMTP_CA, for test relays).
// dial opens each connection.
func ParseSMTPURL(raw string, caPEM []byte, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("JOIST_SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	s := &SMTP{host: u.Hostname(), dial: dial, Hello: "localhost"}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
		switch mode := u.Query().Get("tls"); mode {
		case "", "starttls":
			s.startTLS = true
		case "none":
		default:
			return nil, fmt.Errorf("JOIST_SMTP_URL: tls=%q must be starttls or none (use smtps:// for implicit TLS)", mode)
		}
	case "smtps":
		if port == "" {
			port = "465"
		}
		s.implicitTLS = true
	default:
		return nil, fmt.Errorf("JOIST_SMTP_URL: scheme %q must be smtp or smtps", u.Scheme)
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.tls = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("JOIST_SMTP_CA holds no PEM certificate")
		}
		s.tls.RootCAs = pool
	}
	return s, nil
}

// Name is "smtp".
func (s *SMTP) Name() string { return "smtp" }

// Send sends m in one SMTP transaction: MAIL, RCPT for every recipient,
// DATA, on an idle connection of the relay's pool when there is one, else
// on a new one (EHLO, STARTTLS or implicit TLS, AUTH PLAIN when the URL
// has credentials). A 5xx reply is a permanent failure; a 4xx, a
// connection or TLS error is transient. The reply to DATA is the result
// ("250 2.0.0 Ok: queued as 4F2..."); its queue id, when it has one, is
// the provider id.
//
// A pooled connection the relay has closed meanwhile (a broken connection
// or a 421 before the message was handed over) is replaced by a new one
// once: the relay cannot have accepted the message then. A failure after
// the end of the data was sent is never retried here, since the relay may
// have accepted the message; the job's retry decides.
func (s *SMTP) Send(ctx context.Context, m *Message) (Result, error) {
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 2*time.Minute {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}
	pc := s.pool.get(time.Now())
	reused := pc != nil
	if !reused {
		var err error
		if pc, err = s.connect(ctx); err != nil {
			return Result{}, err
		}
	}
	res, handedOver, err := s.transact(ctx, pc, m)
	if err != nil && reused && !handedOver && connectionGone(err) {
		pc.close()
		if pc, err = s.connect(ctx); err != nil {
			return Result{}, err
		}
		res, _, err = s.transact(ctx, pc, m)
	}
	s.done(pc, err)
	return res, err
}

// connect opens a connection to the relay and greets it: TLS as the URL
// says, EHLO, AUTH.
func (s *SMTP) connect(ctx context.Context) (*smtpConn, error) {
	conn, err := s.dial(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to the SMTP relay %s: %w", s.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var c *smtp.Client
	switch {
	case s.implicitTLS:
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS with the SMTP relay %s: %w", s.addr, err)
		}
		c = smtp.NewClient(tc)
	case s.startTLS:
		c, err = smtp.NewClientStartTLS(conn, s.tls)
		if err != nil {
			conn.Close()
			return nil, classify(fmt.Errorf("STARTTLS with the SMTP relay %s: %w", s.addr, err))
		}
	default:
		c = smtp.NewClient(conn)
	}
	pc := &smtpConn{c: c}
	pc.bound(ctx)
	if err := c.Hello(s.Hello); err != nil {
		c.Close()
		return nil, classify(err)
	}
	if s.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
			c.Close()
			return nil, classify(fmt.Errorf("authenticate with the SMTP relay: %w", err))
		}
	}
	return pc, nil
}

// transact sends m on pc. handedOver reports whether the end of the data
// was sent: from then on the relay may have accepted the message, whatever
// the error.
func (s *SMTP) transact(ctx context.Context, pc *smtpConn, m *Message) (res Result, handedOver bool, err error) {
	pc.bound(ctx)
	c := pc.c
	if err := c.Mail(m.EnvelopeFrom, nil); err != nil {
		return Result{}, false, classify(err)
	}
	for _, rcpt := range m.Recipients {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return Result{}, false, classify(fmt.Errorf("recipient %s: %w", rcpt, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return Result{}, false, classify(err)
	}
	if _, err := w.Write(m.Raw); err != nil {
		return Result{}, false, classify(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return Result{}, true, classify(err)
	}
	return Result{Status: StatusSent, ProviderID: queueID(resp.StatusText), Reply: "250 " + resp.StatusText}, true, nil
}

// classify makes an SMTP 5xx reply permanent; anything else stays transient.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &SendError{Permanent: true, Err: err}
	}
	return err
}

// queueID finds the relay's queue id in its reply to DATA ("... queued as
// 4F2A1C", Postfix; "... id=...", others), or "".
func queueID(reply string) string {
	for _, marker := range []string{"queued as ", "id=", "Ok: "} {
		if i := strings.Index(reply, marker); i >= 0 {
			f := strings.Fields(reply[i+len(marker):])
			if len(f) > 0 {
				return strings.Trim(f[0], "<>;,.")
			}
		}
	}
	return ""
}
