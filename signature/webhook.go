// Package webhook is what a provider delivery is to hookflow before it
// becomes an event: its headers, how it is authenticated (the verifiers,
// each over the raw body bytes and in constant time), how parsing it fails,
// and the body of a 200. It imports nothing of hookflow, so the provider
// registry, the receivers and `hookflow send` can all use it.
package signature

import (
	"errors"
	"regexp"
	"strings"
)

// headerNameRE is an HTTP header name: a token (RFC 9110).
var headerNameRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)

// IsHeaderName reports whether name can be an HTTP header's name, for
// configuration that names headers (a provider's signature header, a
// destination's extra headers).
func IsHeaderName(name string) bool { return headerNameRE.MatchString(name) }

// Parse errors. A provider's Parse returns these (or a *MissingFieldsError)
// so that the accept path can answer with the contract's status and body.
var (
	// ErrInvalidJSON is returned when the body is not a JSON object.
	ErrInvalidJSON = errors.New("invalid JSON body")
	// ErrIgnored is returned for an authenticated event of a type hookflow
	// does not process; the provider gets 200 so it does not retry.
	ErrIgnored = errors.New("event type not processed")
)

// MissingFieldsError is returned when required fields are absent or empty.
type MissingFieldsError struct {
	Required []string // every field the event type requires, as documented to the provider
}

func (e *MissingFieldsError) Error() string {
	return "missing required fields: " + strings.Join(e.Required, ", ")
}

// Accepted is the body of a 200 for an accepted or duplicate event.
type Accepted struct {
	Success    bool   `json:"success"`
	Duplicate  bool   `json:"duplicate"`
	EventID    string `json:"eventId"`
	WorkflowID string `json:"workflowId"`
}
