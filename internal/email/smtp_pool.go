package email

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Pooling of SMTP connections. Opening a connection to a relay costs a TCP
// handshake, the greeting, EHLO, STARTTLS (a TLS handshake and EHLO again)
// and AUTH: several round trips and more CPU than the transaction itself.
// So a connection that ended its transaction well waits in its relay's
// pool for the next message, which is sent with MAIL, RCPT and DATA alone.
const (
	// smtpMaxIdle is the most idle connections kept per relay (past it the
	// connection is closed after its message).
	smtpMaxIdle = 8
	// smtpMaxPerConn is the most messages sent on one connection; then it
	// is closed with QUIT (relays limit messages per connection too, and
	// spreading over fresh connections follows a relay's DNS changes).
	smtpMaxPerConn = 100
	// smtpIdleTimeout closes a connection idle this long (relays drop idle
	// clients after a while, Postfix after 5 minutes, others sooner).
	smtpIdleTimeout = 10 * time.Second
	// smtpCloseTimeout bounds the QUIT of a connection being closed.
	smtpCloseTimeout = 5 * time.Second
)

// smtpConn is a greeted (and authenticated) connection to a relay.
type smtpConn struct {
	c     *smtp.Client
	sent  int       // messages sent on it
	since time.Time // idle since
}

// bound makes every command and the data of pc end by ctx's deadline
// (go-smtp sets the connection's deadline per command from these).
func (pc *smtpConn) bound(ctx context.Context) {
	d := 5 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		d = max(min(d, time.Until(dl)), time.Millisecond)
	}
	pc.c.CommandTimeout, pc.c.SubmissionTimeout = d, d
}

func (pc *smtpConn) close() { pc.c.Close() }

// quit ends pc politely (QUIT), within smtpCloseTimeout.
func (pc *smtpConn) quit() {
	pc.c.CommandTimeout = smtpCloseTimeout
	if err := pc.c.Quit(); err != nil {
		pc.c.Close()
	}
}

// smtpPool holds a relay's idle connections, the most recently used last.
type smtpPool struct {
	mu    sync.Mutex
	idle  []*smtpConn
	timer *time.Timer // closes the connections idle too long
}

// get takes the most recently used idle connection (nil: none), closing
// those idle too long.
func (p *smtpPool) get(now time.Time) *smtpConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(pc.since) < smtpIdleTimeout {
			return pc
		}
		go pc.quit()
	}
	return nil
}

// done returns pc to s's pool after a transaction that ended with err: kept
// when the transaction ended well, or with a reply of the relay (after
// RSET, so that the next message starts afresh); closed when the
// connection failed, has sent its share, or the pool is full.
func (s *SMTP) done(pc *smtpConn, err error) {
	if err != nil {
		if connectionGone(err) || pc.c.Reset() != nil {
			pc.close()
			return
		}
	}
	pc.sent++
	if pc.sent >= smtpMaxPerConn {
		go pc.quit()
		return
	}
	p := &s.pool
	pc.since = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, pc)
	var oldest *smtpConn
	if len(p.idle) > smtpMaxIdle {
		oldest = p.idle[0]
		p.idle = p.idle[1:]
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(smtpIdleTimeout, func() { s.prune() })
	}
	p.mu.Unlock()
	if oldest != nil {
		go oldest.quit()
	}
}

// prune closes the connections idle for smtpIdleTimeout and comes back
// while some remain.
func (s *SMTP) prune() {
	p := &s.pool
	now := time.Now()
	p.mu.Lock()
	var expired []*smtpConn
	keep := p.idle[:0]
	for _, pc := range p.idle {
		if now.Sub(pc.since) >= smtpIdleTimeout {
			expired = append(expired, pc)
		} else {
			keep = append(keep, pc)
		}
	}
	p.idle = keep
	if len(p.idle) > 0 {
		p.timer.Reset(smtpIdleTimeout - now.Sub(p.idle[0].since))
	} else {
		p.timer = nil
	}
	p.mu.Unlock()
	for _, pc := range expired {
		pc.quit()
	}
}

// connectionGone reports whether err says the connection can no longer be
// used: anything but a reply of the relay, or the relay's 421 (it is
// closing the channel).
func connectionGone(err error) bool {
	var se *smtp.SMTPError
	return !errors.As(err, &se) || se.Code == 421
}
