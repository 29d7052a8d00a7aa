package abi

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error of ValidateResponse.
var ErrInvalid = errors.New("abi: invalid response")

// MaxTagLen is the longest tag accepted, in bytes.
const MaxTagLen = 256

// refusedHeaders are hop-by-hop headers and headers the host owns (§5.3),
// in lower case.
var refusedHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "transfer-encoding": true, "upgrade": true,
	"te": true, "trailer": true, "proxy-authenticate": true, "proxy-authorization": true,
	"content-length": true, "content-encoding": true, "etag": true, "age": true,
	"cache-control": true, "vary": true, "date": true,
}

// ValidateResponse checks a decoded response against the rules of §5.3:
// flags, redirect status, headers and tags. The size limit is the host's.
func ValidateResponse(r *Response) error {
	if r.Flags&^flagsKnown != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrInvalid, r.Flags)
	}
	if r.Revalidate < -1 {
		return fmt.Errorf("%w: revalidate %d", ErrInvalid, r.Revalidate)
	}
	if err := validateStatus(r); err != nil {
		return err
	}
	for _, h := range r.Headers {
		if err := validateHeader(h, r.Flags&FlagNoStore != 0); err != nil {
			return err
		}
	}
	for _, t := range r.Tags {
		if err := validateTag(t); err != nil {
			return err
		}
	}
	return nil
}

func validateStatus(r *Response) error {
	if r.Redirect == "" {
		if r.Status != 0 && (r.Status < 200 || r.Status > 599) {
			return fmt.Errorf("%w: status %d", ErrInvalid, r.Status)
		}
		return nil
	}
	switch r.Status {
	case 0, 301, 302, 303, 307, 308:
	default:
		return fmt.Errorf("%w: redirect with status %d", ErrInvalid, r.Status)
	}
	if !validValue(r.Redirect) {
		return fmt.Errorf("%w: redirect %q", ErrInvalid, r.Redirect)
	}
	return nil
}

func validateHeader(h Header, noStore bool) error {
	if !isToken(h.Name) {
		return fmt.Errorf("%w: header name %q", ErrInvalid, h.Name)
	}
	if !validValue(h.Value) {
		return fmt.Errorf("%w: header %s: bad value %q", ErrInvalid, h.Name, h.Value)
	}
	lower := strings.ToLower(h.Name)
	if refusedHeaders[lower] || (lower == "set-cookie" && !noStore) {
		return fmt.Errorf("%w: header %s refused", ErrInvalid, h.Name)
	}
	return nil
}

func validateTag(t string) error {
	if t == "" || len(t) > MaxTagLen || !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: tag %q", ErrInvalid, t)
	}
	return nil
}

// validValue reports whether v is UTF-8 without CR, LF or NUL.
func validValue(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsAny(v, "\r\n\x00")
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
