package receivers

// Outcome classifies how a delivery was answered, for logs and the
// hookflow_deliveries_total{outcome} label. Metrics takes it as a plain
// string, so that telemetry need not import the receivers.
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
	// OutcomeThrottled is a 429 to one tenant past its own caps, apart
	// from overloaded (the receiver's): one tenant's burst is not a
	// reason to add receivers.
	OutcomeThrottled   Outcome = "throttled"
	OutcomeUnavailable Outcome = "unavailable"
	// OutcomeRejected is a permanent refusal by Temporal (invalid
	// argument), answered 400 so the provider does not retry it for ever.
	OutcomeRejected Outcome = "rejected"
)
