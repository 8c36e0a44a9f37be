package starter

import (
	"errors"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"
)

// Part is the part of a start or signal that a permanent refusal is about.
type Part int

// The parts a refusal names; the receivers map them to the provider's own
// field names.
const (
	PartEvent  Part = iota + 1 // the event as a whole (no finer cause known)
	PartEntity                 // the entity ID, which makes the workflow ID
	PartBody                   // the body, which makes the payload's size
)

// Refused reports whether err, returned by Signal, will be returned the
// same way on every retry of the same request, and which part of it is
// refused. This is the one place that tells a permanent refusal from a
// failure that can succeed later: a caller answers a refusal with a 4xx,
// anything else (Temporal unavailable, overloaded, timed out, an internal
// error) with a 503, so that the provider retries.
//
// Refusals are only what is known to be permanent, because calling a
// transient failure permanent loses the event:
//   - InvalidArgument from Temporal (an ID over its length limit, a payload
//     over the blob size limit, a search attribute value it will not take);
//   - what gRPC refuses before sending: a header value outside printable
//     ASCII (the workflow ID travels in one), a message over the size limit
//     of either side (ResourceExhausted for a size, never for a rate);
//   - a payload the data converter cannot encode.
func Refused(err error) (Part, bool) {
	if err == nil {
		return 0, false
	}
	var invalid *serviceerror.InvalidArgument
	var internal *serviceerror.Internal
	var exhausted *serviceerror.ResourceExhausted
	switch {
	case errors.As(err, &invalid) && busy(invalid.Message):
		return 0, false
	case errors.As(err, &invalid):
		return refusedPart(invalid.Message), true
	case errors.As(err, &internal) && strings.Contains(internal.Message, "non-printable ASCII"):
		return PartEntity, true
	case errors.As(err, &exhausted) && strings.Contains(exhausted.Message, "larger than max"):
		return PartBody, true
	case errors.Is(err, converter.ErrUnableToEncode):
		return PartEvent, true
	}
	return 0, false
}

// busy reports whether Temporal's InvalidArgument says the entity's run
// takes no more signals for now: its signal limit (10,000 a run by
// default) is reached while it works through a backlog, and its next run
// takes them. Some server versions say so with InvalidArgument; it passes,
// so it is never a refusal: the provider must retry.
func busy(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "limit for signal events")
}

// refusedPart reads which part Temporal's InvalidArgument message is about.
func refusedPart(msg string) Part {
	msg = strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "workflowid"), strings.Contains(msg, "workflow id"),
		strings.Contains(msg, "search attribute"), strings.Contains(msg, "non-printable"):
		return PartEntity
	case strings.Contains(msg, "size"), strings.Contains(msg, "larger than"):
		return PartBody
	}
	return PartEvent
}
