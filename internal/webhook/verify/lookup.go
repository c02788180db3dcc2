package verify

// Lookup returns the value at JSON pointer p in a verified request's body
// (a form body is a flat object of its fields), or "" when it is missing or
// the body does not parse. Call it only after Verify accepted the request.
func Lookup(req Request, p string) string {
	if p == "" || checkPointer(p) != nil {
		return ""
	}
	v, err := lookupPointer(req, p)
	if err != nil {
		return ""
	}
	return v
}

// CheckPointer reports whether p is a valid RFC 6901 JSON pointer.
func CheckPointer(p string) error {
	if err := checkPointer(p); err != nil {
		return err
	}
	return nil
}
