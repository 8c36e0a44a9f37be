package signature

// Outcome classifies how a delivery was answered, for logs and metrics.
// It lives here, not with the receivers that answer, so that what counts
// the answers (metrics) need not import them.
type Outcome string

// The outcomes of a delivery, one per row of the contract's section 3.
const (
	OutcomeAccepted     Outcome = "accepted"
	OutcomeDuplicate    Outcome = "duplicate"
	OutcomeIgnored      Outcome = "ignored"
	OutcomeInFlight     Outcome = "in_flight"
	OutcomeUnauthorized Outcome = "unauthorized"
	OutcomeInvalid      Outcome = "invalid"
	OutcomeDisabled     Outcome = "disabled"
	OutcomeTooLarge     Outcome = "too_large"
	OutcomeOverloaded   Outcome = "overloaded"
	OutcomeUnavailable  Outcome = "unavailable"
	// OutcomeRejected is a permanent refusal by Temporal (invalid
	// argument), answered 400 so the provider does not retry it for ever.
	OutcomeRejected Outcome = "rejected"
)
