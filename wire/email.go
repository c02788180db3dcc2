package wire

// DomainCheck is the domain doctor's report on a sending domain's DNS:
// GET /v1/domains/{domain}/check answers it, and 'joist domain check
// --json' prints the same shape.
type DomainCheck struct {
	// Domain is the domain checked (lower case, without a final dot).
	Domain string `json:"domain"`
	// Checks are the results in a stable order: spf, dkim, dmarc, mx,
	// mta_sts, tls_rpt; a check may have several entries.
	Checks []DomainCheckItem `json:"checks"`
}

// DomainCheckItem is one result of the domain doctor.
type DomainCheckItem struct {
	// Check is what was checked: spf, dkim, dmarc, mx, mta_sts or tls_rpt.
	Check string `json:"check"`
	// Status is pass, warn, fail or info. Only fail makes the domain unfit
	// to send from; warn hurts deliverability or hides problems; info is
	// for the operator's knowledge.
	Status string `json:"status"`
	// Message says what was found, naming the DNS record.
	Message string `json:"message"`
	// Fix says what to publish instead (record type, name and value), or
	// is empty when there is nothing to change.
	Fix string `json:"fix"`
}

// Domain check statuses.
const (
	CheckPass = "pass"
	CheckWarn = "warn"
	CheckFail = "fail"
	CheckInfo = "info"
)
