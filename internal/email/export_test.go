package email

// ParseURL is ParseSMTPURL without a CA or a dialer, for tests.
func ParseURL(raw string) (*SMTP, error) { return ParseSMTPURL(raw, nil, nil) }
