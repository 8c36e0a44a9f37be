package receivers

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"
)

// An answer is what a step of the accept path decided for a delivery: the
// row of the answer table that answers it, and what that row's body names.
// The zero answer decides nothing: the next step runs.
type answer struct {
	row      row
	detail   string   // the message or field the row's body names, if it names one
	required []string // rowMissingFields: every field the event type requires
}

// proceed is the answer of a step that lets the delivery go on.
var proceed = answer{}

// decided reports whether a answers the delivery, so no later step runs.
func (a answer) decided() bool { return a.row != rowProceed }

// row names one row of the answer table.
type row uint8

// The rows of the answer table, one per way a delivery is answered.
const (
	rowProceed       row = iota // not an answer: the next step runs
	rowAccepted                 // Temporal has the event
	rowDuplicate                // already delivered (dedup hit)
	rowIgnored                  // authenticated, of a type not processed
	rowDisabled                 // the provider has no secret; detail: the message
	rowEncoded                  // a compressed body
	rowTooLarge                 // over MaxBodyBytes
	rowUnauthorized             // verification failed; detail: the message
	rowInvalidJSON              // not a JSON object
	rowMissingFields            // required fields absent; required lists them
	rowUnusableID               // an ID Temporal would refuse; detail: the field
	rowOverloaded               // every in-flight slot is held
	rowInFlight                 // another request holds the event's claim
	rowUnavailable              // Temporal failed or did not answer in time
	rowRejected                 // Temporal refused the event for good; detail: the field
)

// Retry-After values, in seconds, each sized to what the provider waits for.
const (
	// retryAfterInFlight (409): the other request is answered within its
	// StartTimeout (default 5s), and its record is then done or gone (one
	// whose request died expires with HOOKFLOW_PENDING_TTL).
	retryAfterInFlight = "5"
	// retryAfterOverloaded (429): in-flight slots free as soon as the
	// deliveries holding them are answered, usually within milliseconds.
	retryAfterOverloaded = "1"
	// retryAfterUnavailable (503): Temporal is failing or unreachable;
	// give it a StartTimeout's worth of time before trying again.
	retryAfterUnavailable = "5"
)

// reply is one row of the answer table: the outcome counted, the status,
// the Retry-After header ("" for none) and how the JSON body is made.
type reply struct {
	outcome    Outcome
	status     int
	retryAfter string
	body       func(d *delivery, a answer) ([]byte, error)
}

// answers is the answer table: the one place where a delivery's answer
// becomes an HTTP status, headers and body (contract section 3).
var answers = [...]reply{
	rowAccepted:      {OutcomeAccepted, fiber.StatusOK, "", acceptedBody(false)},
	rowDuplicate:     {OutcomeDuplicate, fiber.StatusOK, "", acceptedBody(true)},
	rowIgnored:       {OutcomeIgnored, fiber.StatusOK, "", fixedBody(map[string]bool{"success": true, "ignored": true})},
	rowDisabled:      {OutcomeDisabled, fiber.StatusNotFound, "", errorDetail("")},
	rowEncoded:       {OutcomeInvalid, fiber.StatusUnsupportedMediaType, "", fixedError("Content-Encoding not supported; send the body uncompressed")},
	rowTooLarge:      {OutcomeTooLarge, fiber.StatusRequestEntityTooLarge, "", fixedError("body too large")},
	rowUnauthorized:  {OutcomeUnauthorized, fiber.StatusUnauthorized, "", errorDetail("")},
	rowInvalidJSON:   {OutcomeInvalid, fiber.StatusBadRequest, "", fixedError(ErrInvalidJSON.Error())},
	rowMissingFields: {OutcomeInvalid, fiber.StatusBadRequest, "", missingFieldsBody},
	rowUnusableID:    {OutcomeInvalid, fiber.StatusBadRequest, "", errorDetail("invalid ")},
	rowOverloaded:    {OutcomeOverloaded, fiber.StatusTooManyRequests, retryAfterOverloaded, fixedError("too many requests, retry later")},
	rowInFlight:      {OutcomeInFlight, fiber.StatusConflict, retryAfterInFlight, fixedError("event is being processed, retry later")},
	rowUnavailable:   {OutcomeUnavailable, fiber.StatusServiceUnavailable, retryAfterUnavailable, fixedError("temporarily unavailable, retry later")},
	rowRejected:      {OutcomeRejected, fiber.StatusBadRequest, "", errorDetail("invalid ")},
}

// outcome is how a is counted.
func (a answer) outcome() Outcome { return answers[a.row].outcome }

// write sends a as the HTTP answer to d: the only place the accept path
// sets a status, a header or a body.
func write(d *delivery, a answer) error {
	rep := answers[a.row]
	body, err := rep.body(d, a)
	if err != nil {
		return err
	}
	if rep.retryAfter != "" {
		d.c.Set(fiber.HeaderRetryAfter, rep.retryAfter)
	}
	d.c.Status(rep.status)
	// The body is never written to once set: fixed bodies are shared.
	d.c.Response().SetBodyRaw(body)
	d.c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}

// errorBody is the body of every non-2xx answer.
type errorBody struct {
	Error    string   `json:"error"`
	Required []string `json:"required,omitempty"`
}

// fixedBody returns a body maker for a body that never changes, encoded
// once.
func fixedBody(v any) func(*delivery, answer) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("receivers: answer table: " + err.Error())
	}
	return func(*delivery, answer) ([]byte, error) { return b, nil }
}

// fixedError is fixedBody of the error message msg.
func fixedError(msg string) func(*delivery, answer) ([]byte, error) {
	return fixedBody(errorBody{Error: msg})
}

// errorDetail returns a body maker for the error message prefix + the
// answer's detail.
func errorDetail(prefix string) func(*delivery, answer) ([]byte, error) {
	return func(_ *delivery, a answer) ([]byte, error) {
		return json.Marshal(errorBody{Error: prefix + a.detail})
	}
}

func missingFieldsBody(_ *delivery, a answer) ([]byte, error) {
	return json.Marshal(errorBody{Error: "Missing required fields", Required: a.required})
}

// acceptedBody returns the body maker of an accepted or duplicate event,
// with the provider's own fields where it adds some.
func acceptedBody(duplicate bool) func(*delivery, answer) ([]byte, error) {
	return func(d *delivery, _ answer) ([]byte, error) {
		base := Accepted{Success: true, Duplicate: duplicate, EventID: d.ev.ID, WorkflowID: d.wfID}
		if d.p.Reply != nil {
			return json.Marshal(d.p.Reply(base, d.ev))
		}
		return json.Marshal(base)
	}
}
