package providers

import (
	"errors"
	"strings"
)

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
