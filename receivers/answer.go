package receivers

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// An answer is what a step of the accept path decided for a delivery: the
// row of the answer table that answers it, and what that row's body names.
// The zero answer decides nothing: the next step runs.
type answer struct {
	row        row
	detail     string   // the message or field the row's body names, if it names one
	required   []string // rowMissingFields: every field the event type requires
	retryAfter int      // seconds, over the row's Retry-After when positive (rowTenantRate)
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
	rowTenantBusy               // the tenant's in-flight cap is reached
	rowTenantRate               // the tenant is past its rate; retryAfter: until its next token
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
	// retryAfterTenantBusy (429 to one tenant): its slots free as its
	// deliveries are answered, as the receiver's own do.
	retryAfterTenantBusy = "1"
	// retryAfterUnavailable (503): Temporal is failing or unreachable;
	// give it a StartTimeout's worth of time before trying again.
	retryAfterUnavailable = "5"
)

// reply is one row of the answer table: the outcome counted, the status,
// the Retry-After header ("" for none) and the JSON body.
type reply struct {
	outcome    Outcome
	status     int
	retryAfter string
	body       body
}

// body is how a row's JSON body is made.
type body struct {
	kind   bodyKind
	fixed  []byte // bodyFixed: encoded once
	prefix string // bodyError: put before the answer's detail
}

type bodyKind uint8

const (
	bodyFixed     bodyKind = iota // the same bytes every time
	bodyError                     // {"error": prefix + detail}
	bodyMissing                   // {"error":"Missing required fields","required":[…]}
	bodyAccepted                  // the provider's 200 body, duplicate false
	bodyDuplicate                 // the provider's 200 body, duplicate true
)

// answers is the answer table: the one place where a delivery's answer
// becomes an HTTP status, headers and body (contract section 3).
var answers = [...]reply{
	rowAccepted:      {OutcomeAccepted, fiber.StatusOK, "", body{kind: bodyAccepted}},
	rowDuplicate:     {OutcomeDuplicate, fiber.StatusOK, "", body{kind: bodyDuplicate}},
	rowIgnored:       {OutcomeIgnored, fiber.StatusOK, "", fixed(map[string]bool{"success": true, "ignored": true})},
	rowDisabled:      {OutcomeDisabled, fiber.StatusNotFound, "", body{kind: bodyError}},
	rowEncoded:       {OutcomeInvalid, fiber.StatusUnsupportedMediaType, "", fixedError("Content-Encoding not supported; send the body uncompressed")},
	rowTooLarge:      {OutcomeTooLarge, fiber.StatusRequestEntityTooLarge, "", fixedError("body too large")},
	rowUnauthorized:  {OutcomeUnauthorized, fiber.StatusUnauthorized, "", body{kind: bodyError}},
	rowInvalidJSON:   {OutcomeInvalid, fiber.StatusBadRequest, "", fixedError(ErrInvalidJSON.Error())},
	rowMissingFields: {OutcomeInvalid, fiber.StatusBadRequest, "", body{kind: bodyMissing}},
	rowUnusableID:    {OutcomeInvalid, fiber.StatusBadRequest, "", body{kind: bodyError, prefix: "invalid "}},
	rowOverloaded:    {OutcomeOverloaded, fiber.StatusTooManyRequests, retryAfterOverloaded, fixedError("too many requests, retry later")},
	rowTenantBusy:    {OutcomeThrottled, fiber.StatusTooManyRequests, retryAfterTenantBusy, fixedError("too many deliveries in flight for this tenant, retry later")},
	rowTenantRate:    {OutcomeThrottled, fiber.StatusTooManyRequests, "", fixedError("this tenant is over its rate, retry later")},
	rowInFlight:      {OutcomeInFlight, fiber.StatusConflict, retryAfterInFlight, fixedError("event is being processed, retry later")},
	rowUnavailable:   {OutcomeUnavailable, fiber.StatusServiceUnavailable, retryAfterUnavailable, fixedError("temporarily unavailable, retry later")},
	rowRejected:      {OutcomeRejected, fiber.StatusBadRequest, "", body{kind: bodyError, prefix: "invalid "}},
}

// outcome is how a is counted.
func (a answer) outcome() Outcome { return answers[a.row].outcome }

// write sends a as the HTTP answer to d: the only place the accept path
// sets a status, a header or a body.
func write(d *delivery, a answer) error {
	rep := answers[a.row]
	b, err := rep.body.encode(d, a)
	if err != nil {
		return err
	}
	switch {
	case a.retryAfter > 0:
		d.c.Set(fiber.HeaderRetryAfter, strconv.Itoa(a.retryAfter))
	case rep.retryAfter != "":
		d.c.Set(fiber.HeaderRetryAfter, rep.retryAfter)
	}
	d.c.Status(rep.status)
	// The body is never written to once set: fixed bodies are shared.
	d.c.Response().SetBodyRaw(b)
	d.c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}

// errorBody is the body of every non-2xx answer.
type errorBody struct {
	Error    string   `json:"error"`
	Required []string `json:"required,omitempty"`
}

// fixed is the row body v, encoded once.
func fixed(v any) body {
	b, err := json.Marshal(v)
	if err != nil {
		panic("receivers: answer table: " + err.Error())
	}
	return body{kind: bodyFixed, fixed: b}
}

// fixedError is the fixed body of the error message msg.
func fixedError(msg string) body { return fixed(errorBody{Error: msg}) }

// encode makes the body of answer a to d.
func (b body) encode(d *delivery, a answer) ([]byte, error) {
	switch b.kind {
	case bodyError:
		return json.Marshal(errorBody{Error: b.prefix + a.detail})
	case bodyMissing:
		return json.Marshal(errorBody{Error: "Missing required fields", Required: a.required})
	case bodyAccepted, bodyDuplicate:
		// The provider's own fields, where it adds some.
		base := Accepted{Success: true, Duplicate: b.kind == bodyDuplicate, EventID: d.ev.ID, WorkflowID: d.wfID}
		if d.p.Reply != nil {
			return json.Marshal(d.p.Reply(base, d.ev))
		}
		return json.Marshal(base)
	}
	return b.fixed, nil
}
