package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/wire"
)

const domainUsage = `Usage:
  joist domain check NAME [--dns HOST:PORT] [--selector S]... [--provider P]
                          [--spf-include HOST] [--json]

Checks the DNS records that decide whether mail from NAME reaches the inbox
(SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT) and says what to publish instead of
each wrong one. Needs no server and no database.

  --dns HOST:PORT      the DNS server to ask (default JOIST_DNS_SERVER, else
                       the first nameserver of /etc/resolv.conf)
  --selector S         a DKIM selector to check (repeatable); with none the
                       DKIM check is info, except for Resend ("resend")
  --provider P         smtp (default), resend or postmark: checks the records
                       that provider requires
  --spf-include HOST   the SMTP relay's SPF host, which the SPF record must include
  --json               print the report as JSON (the API's shape)

Exit status: 0 when no check fails, 1 when one fails, 2 on a usage or DNS error.
See docs/deliverability.md for what each check means.
`

// exitError ends a command with a given exit status, after printing err
// when there is one.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// listFlag is a repeatable string flag; a value may also list several,
// separated by commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func domainCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	if isHelp(args) {
		fmt.Fprint(stdout, domainUsage)
		return nil
	}
	usage := func(format string, a ...any) error {
		return &exitError{code: 2, err: fmt.Errorf(format+"\n(joist domain --help shows the usage)", a...)}
	}
	if len(args) == 0 || args[0] != "check" {
		return usage("usage: joist domain check NAME [--dns HOST:PORT] [--selector S]... [--provider P] [--spf-include HOST] [--json]")
	}
	fs := flag.NewFlagSet("joist domain check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, domainUsage) }
	var selectors listFlag
	dnsAddr := fs.String("dns", "", "")
	provider := fs.String("provider", doctor.ProviderSMTP, "")
	include := fs.String("spf-include", "", "")
	asJSON := fs.Bool("json", false, "")
	fs.Var(&selectors, "selector", "")
	var pos []string
	rest := args[1:]
	for { // flags may follow the name
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &exitError{code: 2} // the flag package said why
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usage("usage: joist domain check NAME (one domain, got %d)", len(pos))
	}
	domain, err := doctor.ValidDomain(pos[0])
	if err != nil {
		return usage("%v", err)
	}
	if !doctor.ValidProvider(*provider) {
		return usage("--provider %q: want smtp, resend or postmark", *provider)
	}
	addr := *dnsAddr
	if addr == "" {
		addr = env("JOIST_DNS_SERVER")
	}
	resolver, err := doctor.NewResolver(addr)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	in := doctor.Input{Domain: domain, Provider: *provider, SPFInclude: *include, Resolver: resolver}
	for _, s := range selectors {
		in.Selectors = append(in.Selectors, doctor.Selector{Name: s})
	}
	rep := doctor.Check(ctx, in)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep.DomainCheck); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep.DomainCheck, *provider, resolver)
	}
	switch {
	case rep.Err != nil:
		return &exitError{code: 2, err: fmt.Errorf("DNS: %w", rep.Err)}
	case rep.Failed():
		return &exitError{code: 1}
	}
	return nil
}

// printReport prints a report for a person: one line per result, its fix
// indented below it, and a count.
func printReport(w io.Writer, r wire.DomainCheck, provider string, resolver doctor.Resolver) {
	via := ""
	if s, ok := resolver.(*doctor.Server); ok {
		via = ", DNS server " + s.Addr
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s (provider %s%s)\n\n", r.Domain, provider, via)
	counts := map[string]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		fmt.Fprintf(&sb, "  %-4s  %-7s  %s\n", strings.ToUpper(c.Status), c.Check, c.Message)
		if c.Fix != "" {
			fmt.Fprintf(&sb, "  %-4s  %-7s  fix: %s\n", "", "", c.Fix)
		}
	}
	fmt.Fprintf(&sb, "\n%d pass, %d warn, %d fail, %d info", counts[wire.CheckPass], counts[wire.CheckWarn], counts[wire.CheckFail], counts[wire.CheckInfo])
	switch {
	case counts[wire.CheckFail] > 0:
		sb.WriteString(": fix the failures before sending from " + r.Domain + "\n")
	case counts[wire.CheckWarn] > 0:
		sb.WriteString(": mail can go out; the warnings cost deliverability\n")
	default:
		sb.WriteString("\n")
	}
	fmt.Fprint(w, sb.String())
}
