package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/joist-dev/joist/wire"
)

// RFC 7208 limits (4.6.4): a receiver's SPF evaluation that needs more
// than 10 DNS-querying terms, or meets more than 2 void lookups, ends in
// a permanent error, and SPF fails for every message.
const (
	spfMaxLookups = 10
	spfMaxVoids   = 2
	spfMaxDepth   = 20 // include nesting followed before giving up (the lookup limit stops a sane record long before)
	// spfWalkCap stops counting: includes that branch and include each
	// other would otherwise take exponential time, and past it the record
	// is far beyond repair by counting anyway.
	spfWalkCap = 50
)

// spfTerm is one term of an SPF record.
type spfTerm struct {
	raw      string
	qual     byte   // + - ~ ? for mechanisms
	name     string // mechanism or modifier name, lower case
	arg      string // after ':' or '=' ("" when none)
	modifier bool
}

// parseSPF splits an SPF record (starting "v=spf1") into terms. Unknown
// mechanisms are an error (receivers' permerror); unknown modifiers are
// kept and ignored.
func parseSPF(rec string) ([]spfTerm, error) {
	fields := strings.Fields(rec)
	var terms []spfTerm
	for _, f := range fields[1:] {
		t := spfTerm{raw: f}
		if i := strings.IndexAny(f, ":=/"); i >= 0 && f[i] == '=' {
			t.modifier, t.name, t.arg = true, strings.ToLower(f[:i]), f[i+1:]
			terms = append(terms, t)
			continue
		}
		body := f
		t.qual = '+'
		if strings.ContainsRune("+-~?", rune(body[0])) {
			t.qual, body = body[0], body[1:]
		}
		name, arg, _ := strings.Cut(body, ":")
		if i := strings.IndexByte(name, '/'); i >= 0 { // a/24, mx/24
			name, arg = name[:i], "/"+name[i+1:]
		}
		t.name, t.arg = strings.ToLower(name), arg
		switch t.name {
		case "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists":
		default:
			return nil, fmt.Errorf("unknown mechanism %q", f)
		}
		if (t.name == "include" || t.name == "exists") && arg == "" {
			return nil, fmt.Errorf("%q needs a domain", f)
		}
		if t.name == "ip4" || t.name == "ip6" {
			if _, err := netip.ParsePrefix(arg); err != nil {
				if _, err := netip.ParseAddr(arg); err != nil {
					return nil, fmt.Errorf("%q is not an IP address or range", f)
				}
			}
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// target is the domain a term queries: its argument without a CIDR
// suffix, or the record's own domain.
func (t spfTerm) target(domain string) string {
	a := t.arg
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	if a == "" {
		return domain
	}
	return strings.ToLower(strings.TrimSuffix(a, "."))
}

func isSPF(txt string) bool {
	f := strings.Fields(txt)
	return len(f) > 0 && strings.EqualFold(f[0], "v=spf1")
}

func spfRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		if isSPF(t) {
			out = append(out, t)
		}
	}
	return out
}

func spfString(terms []spfTerm) string {
	parts := []string{"v=spf1"}
	for _, t := range terms {
		parts = append(parts, t.raw)
	}
	return strings.Join(parts, " ")
}

// spfWalk counts what a receiver's evaluation of a record would cost.
type spfWalk struct {
	l        *lookups
	lookups  int
	voids    []string        // the terms whose lookup was void
	topVoid  map[string]bool // raw top-level terms whose lookup was void
	problems []string        // permanent errors met in nested records
	targets  map[string]bool // every include and redirect target met
	ptr      bool
	macro    bool
	capped   bool // stopped counting at spfWalkCap
}

func (w *spfWalk) walk(ctx context.Context, domain string, terms []spfTerm, depth int, seen []string, top bool) {
	hasAll := slices.ContainsFunc(terms, func(t spfTerm) bool { return !t.modifier && t.name == "all" })
	for _, t := range terms {
		if w.lookups >= spfWalkCap {
			w.capped = true
			return
		}
		isRedirect := t.modifier && t.name == "redirect"
		if t.modifier && !isRedirect || (isRedirect && hasAll) {
			continue // redirect is ignored beside an all (RFC 7208 6.1)
		}
		switch t.name {
		case "all", "ip4", "ip6":
			continue
		}
		w.lookups++
		if strings.Contains(t.arg, "%") {
			w.macro = true // a macro is expanded per message; nothing to look up now
			continue
		}
		void := false
		where := t.raw
		if !top {
			where = t.raw + " (in " + domain + ")"
		}
		switch t.name {
		case "ptr":
			w.ptr = true
		case "a":
			a4 := w.l.get(ctx, t.target(domain), dns.TypeA)
			a6 := w.l.get(ctx, t.target(domain), dns.TypeAAAA)
			void = a4.void(dns.TypeA) && a6.void(dns.TypeAAAA)
		case "mx":
			void = w.l.get(ctx, t.target(domain), dns.TypeMX).void(dns.TypeMX)
		case "exists":
			void = w.l.get(ctx, t.target(domain), dns.TypeA).void(dns.TypeA)
		case "include", "redirect":
			target := t.target(domain)
			w.targets[target] = true
			txts, a := w.l.txt(ctx, target)
			if a.err != nil {
				w.problems = append(w.problems, fmt.Sprintf("%s: %v", where, a.err))
				continue
			}
			void = a.void(dns.TypeTXT)
			recs := spfRecords(txts)
			switch {
			case !a.exists:
				w.problems = append(w.problems, fmt.Sprintf("%s: %s does not exist", where, target))
			case len(recs) == 0:
				w.problems = append(w.problems, fmt.Sprintf("%s: %s has no SPF record", where, target))
			case len(recs) > 1:
				w.problems = append(w.problems, fmt.Sprintf("%s: %s has %d SPF records", where, target, len(recs)))
			case slices.Contains(seen, target):
				w.problems = append(w.problems, fmt.Sprintf("%s: includes loop back to %s", where, target))
			case depth >= spfMaxDepth:
				w.problems = append(w.problems, fmt.Sprintf("%s: includes nested more than %d deep", where, spfMaxDepth))
			default:
				sub, err := parseSPF(recs[0])
				if err != nil {
					w.problems = append(w.problems, fmt.Sprintf("%s: %s's SPF record: %v", where, target, err))
					break
				}
				w.walk(ctx, target, sub, depth+1, append(slices.Clone(seen), target), false)
			}
		}
		if void {
			w.voids = append(w.voids, where)
			if top {
				w.topVoid[t.raw] = true
			}
		}
	}
}

// spfOpts says what a record set must contain and how bad its absence is.
type spfOpts struct {
	label    string // prefix of messages ("" for the domain itself)
	include  string // an include the record must reach ("" for none)
	whose    string // who asks for the include ("your SMTP relay", "Resend")
	missing  string // status when there is no SPF record
	proposal string // the record to propose when there is none
}

// checkSPF checks the SPF record at name.
func (c *checker) checkSPF(ctx context.Context, name string, o spfOpts) {
	txts, a := c.l.txt(ctx, name)
	if c.dnsFailed(CheckSPF, a) {
		return
	}
	recs := spfRecords(txts)
	switch len(recs) {
	case 0:
		c.add(CheckSPF, o.missing, o.label+"no SPF record at "+name+": receivers cannot tell which servers may send its mail",
			"publish "+record("TXT", name, o.proposal))
		return
	case 1:
	default:
		c.add(CheckSPF, wire.CheckFail, fmt.Sprintf("%s%d SPF records at %s: receivers treat more than one as a permanent error, so SPF fails for every message",
			o.label, len(recs), name), "replace them with one record: "+record("TXT", name, mergeSPF(recs)))
		return
	}
	terms, err := parseSPF(recs[0])
	if err != nil {
		c.add(CheckSPF, wire.CheckFail, fmt.Sprintf("%sthe SPF record at %s is invalid (%v): receivers treat it as a permanent error", o.label, name, err),
			"correct it, for example "+record("TXT", name, o.proposal))
		return
	}
	w := &spfWalk{l: c.l, topVoid: map[string]bool{}, targets: map[string]bool{}}
	w.walk(ctx, name, terms, 0, []string{name}, true)
	failed := false
	fail := func(msg, fix string) {
		failed = true
		c.add(CheckSPF, wire.CheckFail, o.label+msg, fix)
	}
	for _, p := range w.problems {
		fail("the SPF record at "+name+" reaches an error receivers treat as permanent: "+p,
			"remove or correct that term in "+record("TXT", name, recs[0])+" (or ask the owner of the included domain to fix theirs)")
	}
	if w.lookups > spfMaxLookups {
		n := fmt.Sprint(w.lookups)
		if w.capped {
			n = "more than " + n
		}
		fail(fmt.Sprintf("the SPF record at %s needs %s DNS lookups counting nested includes (the limit is %d; past it SPF fails for every message): %s",
			name, n, spfMaxLookups, c.lookupCosts(ctx, name, terms)),
			"bring it to 10 lookups or fewer: remove the includes of services that no longer send for "+name+
				", or replace an include with the ip4:/ip6: ranges it lists; then publish the shorter record at TXT "+name)
	}
	if len(w.voids) > spfMaxVoids {
		fix := "remove the terms that name nothing"
		if len(w.topVoid) == len(w.voids) {
			fix += ": " + record("TXT", name, spfString(slices.DeleteFunc(slices.Clone(terms), func(t spfTerm) bool { return w.topVoid[t.raw] })))
		} else {
			fix += " (the nested ones are in records you include: ask their owners, or drop those includes)"
		}
		fail(fmt.Sprintf("the SPF record at %s makes %d void lookups (names with no record; the limit is %d, past it SPF fails): %s",
			name, len(w.voids), spfMaxVoids, strings.Join(w.voids, ", ")), fix)
	}
	all := lastAll(terms)
	if all != nil && all.qual == '+' {
		fail("the SPF record at "+name+" ends in "+all.raw+": every server on the internet may send as "+name,
			"replace it with "+record("TXT", name, spfString(withAll(terms, "~all"))))
	}
	if o.include != "" && !w.targets[strings.ToLower(o.include)] {
		fail(fmt.Sprintf("the SPF record at %s does not include %s, so mail sent through %s fails SPF", name, o.include, o.whose),
			"replace it with "+record("TXT", name, spfString(withInclude(terms, o.include))))
	}
	if all != nil && all.qual == '?' {
		c.add(CheckSPF, wire.CheckWarn, o.label+"the SPF record at "+name+" ends in ?all (neutral): receivers give mail from other servers the benefit of the doubt",
			"replace it with "+record("TXT", name, spfString(withAll(terms, "~all")))+" (or -all once every sender is listed)")
	}
	hasRedirect := slices.ContainsFunc(terms, func(t spfTerm) bool { return t.modifier && t.name == "redirect" })
	if all == nil && !hasRedirect {
		c.add(CheckSPF, wire.CheckWarn, o.label+"the SPF record at "+name+" has no all term: receivers treat unlisted servers as neutral (?all)",
			"replace it with "+record("TXT", name, spfString(withAll(terms, "~all"))))
	}
	if w.ptr {
		c.add(CheckSPF, wire.CheckWarn, o.label+"the SPF record at "+name+" uses ptr, which RFC 7208 says not to use: it is slow and some receivers ignore it",
			"replace it with "+record("TXT", name, spfString(slices.DeleteFunc(slices.Clone(terms), func(t spfTerm) bool { return t.name == "ptr" && !t.modifier }))))
	}
	if w.macro {
		c.add(CheckSPF, wire.CheckInfo, o.label+"the SPF record at "+name+" uses macros: they are expanded per message, so their lookups were counted but not made", "")
	}
	if !failed {
		end := "no all term"
		if all != nil {
			end = "ends in " + all.raw
		} else if hasRedirect {
			end = "redirects"
		}
		c.add(CheckSPF, wire.CheckPass, fmt.Sprintf("%sone SPF record at %s (%s); %d of %d DNS lookups, %d void; %s",
			o.label, name, recs[0], w.lookups, spfMaxLookups, len(w.voids), end), "")
	}
}

// lookupCosts says what each top-level term of a record costs in lookups.
func (c *checker) lookupCosts(ctx context.Context, name string, terms []spfTerm) string {
	var parts []string
	for _, t := range terms {
		w := &spfWalk{l: c.l, topVoid: map[string]bool{}, targets: map[string]bool{}}
		w.walk(ctx, name, []spfTerm{t}, 0, []string{name}, true)
		switch {
		case w.capped:
			parts = append(parts, fmt.Sprintf("%s costs more than %d", t.raw, w.lookups))
		case w.lookups > 0:
			parts = append(parts, fmt.Sprintf("%s costs %d", t.raw, w.lookups))
		}
	}
	return strings.Join(parts, ", ")
}

func lastAll(terms []spfTerm) *spfTerm {
	for i := len(terms) - 1; i >= 0; i-- {
		if !terms[i].modifier && terms[i].name == "all" {
			return &terms[i]
		}
	}
	return nil
}

// withAll replaces the record's all term (or appends one).
func withAll(terms []spfTerm, all string) []spfTerm {
	out := slices.DeleteFunc(slices.Clone(terms), func(t spfTerm) bool { return !t.modifier && t.name == "all" })
	return append(out, spfTerm{raw: all, name: "all", qual: all[0]})
}

// withInclude adds include:host before the all term.
func withInclude(terms []spfTerm, host string) []spfTerm {
	inc := spfTerm{raw: "include:" + host, name: "include", arg: host, qual: '+'}
	out := slices.Clone(terms)
	for i, t := range out {
		if (!t.modifier && t.name == "all") || t.modifier {
			return slices.Insert(out, i, inc)
		}
	}
	return append(out, inc)
}

// mergeSPF joins several SPF records into one: every term once, a single
// ~all (or the strictest all they had) at the end.
func mergeSPF(recs []string) string {
	var terms []spfTerm
	seen := map[string]bool{}
	all := ""
	for _, r := range recs {
		for _, f := range strings.Fields(r)[1:] {
			lf := strings.ToLower(f)
			if strings.HasSuffix(lf, "all") && strings.TrimLeft(lf, "+-~?") == "all" {
				if lf == "-all" || (lf == "~all" && all != "-all") {
					all = lf
				}
				continue
			}
			if !seen[lf] {
				seen[lf] = true
				terms = append(terms, spfTerm{raw: f})
			}
		}
	}
	if all == "" {
		all = "~all"
	}
	return spfString(append(terms, spfTerm{raw: all}))
}

// spf checks the domain's own SPF record.
func (c *checker) spf(ctx context.Context) {
	o := spfOpts{missing: wire.CheckFail}
	switch c.in.Provider {
	case ProviderSMTP:
		if inc := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(c.in.SPFInclude, "include:"), ".")); inc != "" {
			o.include, o.whose = inc, "your SMTP relay"
			o.proposal = "v=spf1 include:" + inc + " ~all"
		} else {
			o.proposal = "v=spf1 include:<your SMTP relay's SPF host> ~all"
			defer c.add(CheckSPF, wire.CheckInfo, "no SPF include was given for the SMTP relay, so whether the SPF record authorizes it was not checked",
				"name the relay's SPF host (the include: its documentation gives) to check it")
		}
	default:
		// Resend and Postmark send with a Return-Path of their own
		// (send.<domain>, pm-bounces.<domain>), so SPF is judged there; the
		// domain's own record still guards it against forgery.
		o.missing = wire.CheckWarn
		o.proposal = "v=spf1 -all"
		o.label = ""
	}
	c.checkSPF(ctx, c.domain, o)
	if o.missing == wire.CheckWarn {
		// A no-record warning's fix assumes nothing else sends as the domain.
		for i := range c.items {
			it := &c.items[i]
			if it.Check == CheckSPF && it.Status == wire.CheckWarn && strings.HasPrefix(it.Message, "no SPF record") {
				it.Fix += " if no other service sends mail as " + c.domain + "; otherwise list their include: terms before -all"
			}
		}
	}
}
