package email_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/email"
)

// TestSMTPConnectionReuse sends through a real SMTP server (STARTTLS, AUTH
// PLAIN): several messages go over one connection; a refused recipient
// leaves the connection usable (RSET); a pooled connection the relay has
// closed meanwhile is replaced by a new one and the message goes once; a
// connection lost after the relay stored a message (the answer to DATA
// lost) is not retried on another connection, so the message is not sent
// twice by the provider.
func TestSMTPConnectionReuse(t *testing.T) {
	t.Parallel()
	rl := newRelay(t)
	ca, err := os.ReadFile(rl.caFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := email.ParseSMTPURL("smtp://joist:relay-pass@"+rl.addr+"?tls=starttls", ca, (&net.Dialer{}).DialContext)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	msg := func(n int, to string) *email.Message {
		return &email.Message{EnvelopeFrom: "hello@acme.example", Recipients: []string{to},
			Raw: fmt.Appendf(nil, "From: hello@acme.example\r\nTo: %s\r\nSubject: m%d\r\n\r\nbody %d\r\n", to, n, n)}
	}
	for i := range 5 {
		res, err := p.Send(ctx, msg(i, "ana@x.example"))
		if err != nil || res.Status != email.StatusSent {
			t.Fatalf("send %d: %+v %v", i, res, err)
		}
	}
	if n, got := rl.connections(), len(rl.messages()); n != 1 || got != 5 {
		t.Fatalf("5 messages: %d connections, %d messages at the relay; want 1 and 5", n, got)
	}

	// A refused recipient: a permanent failure; the connection stays.
	_, err = p.Send(ctx, msg(5, "nobody@x.example"))
	var se *email.SendError
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("refused recipient: %v", err)
	}
	if _, err := p.Send(ctx, msg(6, "bo@x.example")); err != nil {
		t.Fatalf("after a refused recipient: %v", err)
	}
	if n, got := rl.connections(), len(rl.messages()); n != 1 || got != 6 {
		t.Fatalf("after a refused recipient: %d connections, %d messages; want 1 and 6", n, got)
	}

	// The relay drops its idle client: the next message goes on a new
	// connection, once.
	rl.closeAll()
	if _, err := p.Send(ctx, msg(7, "cy@x.example")); err != nil {
		t.Fatalf("after the relay closed the idle connection: %v", err)
	}
	msgs := rl.messages()
	if n := rl.connections(); n != 2 || len(msgs) != 7 || !strings.Contains(string(msgs[6].data), "Subject: m7") {
		t.Fatalf("after the relay closed the idle connection: %d connections, %d messages; want 2 and 7", n, len(msgs))
	}
	if _, err := p.Send(ctx, msg(8, "di@x.example")); err != nil || rl.connections() != 2 {
		t.Fatalf("the new connection is not reused: %v, %d connections", err, rl.connections())
	}

	// Stored, then the connection lost before the reply to DATA: an error
	// (the job retries later), and no second copy on a new connection.
	rl.mu.Lock()
	rl.dropAfterData = true
	rl.mu.Unlock()
	if _, err := p.Send(ctx, msg(9, "ed@x.example")); err == nil {
		t.Fatal("a lost reply to DATA was taken for a send")
	}
	rl.mu.Lock()
	rl.dropAfterData = false
	rl.mu.Unlock()
	if n, got := rl.connections(), len(rl.messages()); n != 2 || got != 9 {
		t.Fatalf("lost reply: %d connections, %d messages; want 2 and 9 (not retried)", n, got)
	}
	if _, err := p.Send(ctx, msg(10, "fa@x.example")); err != nil || rl.connections() != 3 || len(rl.messages()) != 10 {
		t.Fatalf("after a lost reply: %v, %d connections, %d messages", err, rl.connections(), len(rl.messages()))
	}
}
