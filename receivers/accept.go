package receivers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
	"github.com/hookflow/hookflow/telemetry/tracing"
	"github.com/hookflow/hookflow/workflows"
)

// Starter is the Temporal client a receiver's Starter calls; client.Client
// satisfies it.
type Starter = starter.Client

// Options configures a Receiver.
type Options struct {
	// Start hands events to Temporal: the process's one Starter, which
	// builds each new run's input (settings, state table, delivery targets)
	// and options. A 200 is sent only after it returns without error.
	Start        starter.Starter
	Dedup        Dedup // nil disables the Redis fast path; workflows still dedup
	Log          *slog.Logger
	MaxBodyBytes int
	MaxInFlight  int           // deliveries in their dedup claim or start at once, before 429
	StartTimeout time.Duration // per SignalWithStart, before 503
	Metrics      Metrics       // nil counts nothing
	// Tracing, when on, gives each request a server span (a child of the
	// provider's traceparent) that the event's handling joins; nil is off.
	Tracing *tracing.Tracing
}

// Metrics counts deliveries. It is defined here, where it is used; the
// Prometheus implementation lives with the process wiring.
type Metrics interface {
	// Delivery records one answered delivery and how long it took.
	Delivery(provider, outcome string, took time.Duration)
	// DedupError records a dedup store failure that was worked around.
	DedupError(provider string)
}

type noMetrics struct{}

func (noMetrics) Delivery(string, string, time.Duration) {}
func (noMetrics) DedupError(string)                      {}

// Receiver is the shared accept path of every provider.
type Receiver struct {
	opts     Options
	inFlight chan struct{}
}

// New returns a Receiver. Zero limits are replaced by safe defaults.
func New(opts Options) *Receiver {
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 512
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 5 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 256 << 10
	}
	return &Receiver{opts: opts, inFlight: make(chan struct{}, opts.MaxInFlight)}
}

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

// errorBody is the body of every non-2xx answer.
type errorBody struct {
	Error    string   `json:"error"`
	Required []string `json:"required,omitempty"`
}

// Handler returns the Fiber handler of provider p.
func (r *Receiver) Handler(p Provider) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		o, err := r.handle(c, &p)
		r.opts.Metrics.Delivery(p.Name, string(o), time.Since(start))
		return err
	}
}

func (r *Receiver) handle(c *fiber.Ctx, p *Provider) (Outcome, error) {
	reqID := RequestID(c)
	log := r.opts.Log.With("request_id", reqID, "provider", p.Name)
	if r.opts.Tracing.Enabled() {
		log = log.With(tracing.LogAttrs(c.UserContext())...)
	}

	if p.Verifier == nil {
		return OutcomeDisabled, c.Status(fiber.StatusNotFound).JSON(errorBody{Error: "provider " + p.Name + " is not enabled"})
	}
	// The raw bytes as sent: signatures are over them, and c.Body() would
	// inflate a compressed body, unauthenticated and without a size limit.
	if enc := c.Request().Header.ContentEncoding(); len(enc) > 0 && !bytes.EqualFold(enc, []byte("identity")) {
		return OutcomeInvalid, c.Status(fiber.StatusUnsupportedMediaType).JSON(errorBody{Error: "Content-Encoding not supported; send the body uncompressed"})
	}
	body := c.Request().Body()
	if len(body) > r.opts.MaxBodyBytes {
		return OutcomeTooLarge, c.Status(fiber.StatusRequestEntityTooLarge).JSON(errorBody{Error: "body too large"})
	}
	header := Header(func(name string) string { return signature.FieldValue(c.Request().Header.Peek(name)) })

	if err := p.Verifier.Verify(body, header); err != nil {
		// A provider that documents its 401 message gets it whether the
		// credential is missing or wrong (Fenix answers both alike).
		msg := p.Unauthorized
		switch {
		case msg != "":
		case errors.Is(err, ErrInvalidCredentials):
			msg = "Invalid credentials"
		default:
			msg = "Missing or invalid authorization header"
		}
		log.Warn("webhook rejected", "reason", clip(err.Error(), maxLogValueBytes))
		return OutcomeUnauthorized, c.Status(fiber.StatusUnauthorized).JSON(errorBody{Error: msg})
	}

	ev, err := p.Parse(body, header)
	var missing *MissingFieldsError
	switch {
	case errors.Is(err, ErrIgnored):
		log.Info("webhook ignored", "event_type", clip(ev.Type, maxLogValueBytes))
		return OutcomeIgnored, c.JSON(fiber.Map{"success": true, "ignored": true})
	case errors.As(err, &missing):
		return OutcomeInvalid, c.Status(fiber.StatusBadRequest).JSON(errorBody{Error: "Missing required fields", Required: missing.Required})
	case err != nil:
		return OutcomeInvalid, c.Status(fiber.StatusBadRequest).JSON(errorBody{Error: ErrInvalidJSON.Error()})
	}
	// Before the dedup claim: an unusable ID must leave no record, and
	// Temporal would refuse it for ever, so the provider must not retry.
	if field := unusableIDField(p, ev); field != "" {
		log.Warn("webhook refused: unusable identifier", "field", field,
			"entity_id", clip(ev.EntityID, maxLogValueBytes), "event_id", clip(ev.ID, maxLogValueBytes))
		return OutcomeInvalid, c.Status(fiber.StatusBadRequest).JSON(errorBody{Error: "invalid " + field})
	}
	ev.Provider = p.Name
	ev.RequestID = reqID
	ev.ReceivedAt = time.Now().UTC()
	ev.Body = bytes.Clone(body) // Fiber reuses its buffers after the handler returns
	if r.opts.Tracing.Enabled() {
		ev.TraceParent = tracing.TraceParent(c.UserContext())
	}
	wfID := ev.WorkflowID()
	// The entity ID as sent: the workflow ID encodes one outside ASCII.
	log = log.With("event_id", clip(ev.ID, maxLogValueBytes), "entity_id", clip(ev.EntityID, maxLogValueBytes), "workflow_id", clip(wfID, maxLogValueBytes))
	reply := func(dup bool) error {
		base := Accepted{Success: true, Duplicate: dup, EventID: ev.ID, WorkflowID: wfID}
		if p.Reply != nil {
			return c.JSON(p.Reply(base, ev))
		}
		return c.JSON(base)
	}

	// An in-flight slot is taken before any Redis round trip, so that an
	// overloaded receiver answers 429 at once, even while Redis hangs. The
	// slot covers the claim, the start and the finish or release; a
	// duplicate refused here is answered from Redis on the provider's retry.
	select {
	case r.inFlight <- struct{}{}:
	default:
		log.Warn("webhook refused: too many deliveries in flight")
		c.Set(fiber.HeaderRetryAfter, retryAfterOverloaded)
		return OutcomeOverloaded, c.Status(fiber.StatusTooManyRequests).JSON(errorBody{Error: "too many requests, retry later"})
	}
	// Deferred first, so it runs last: after the release below.
	defer func() { <-r.inFlight }()

	key := p.Name + ":" + ev.ID
	// claimed is true when this request may own a pending record: when it
	// set one, and when a failed claim may have set one unseen (the reply
	// was lost). Every path that does not end in Finish releases it. Both
	// act only on the record holding token, never on another request's.
	claimed, token := false, ""
	if r.opts.Dedup != nil {
		claim, err := r.opts.Dedup.Claim(c.UserContext(), key)
		switch {
		case errors.Is(err, dedup.ErrSkipped):
			// Failing moments ago (that failure was logged): accept
			// without it; nothing was written, so nothing to release.
			log.Debug("dedup store skipped after a recent failure")
			r.opts.Metrics.DedupError(p.Name)
		case err != nil:
			// Accept anyway: the workflow's own event-ID memory keeps
			// processing exactly-once while Redis is away.
			log.Warn("dedup store unavailable, accepting without it", "error", clip(err.Error(), maxLogErrorBytes))
			r.opts.Metrics.DedupError(p.Name)
			claimed, token = true, claim.Token
		case claim.State == dedup.Done:
			log.Info("webhook duplicate")
			return OutcomeDuplicate, reply(true)
		case claim.State == dedup.InFlight:
			c.Set(fiber.HeaderRetryAfter, retryAfterInFlight)
			return OutcomeInFlight, c.Status(fiber.StatusConflict).JSON(errorBody{Error: "event is being processed, retry later"})
		default:
			claimed, token = true, claim.Token
		}
	}
	finished := false
	release := func() {
		if !claimed || finished {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.opts.Dedup.Release(ctx, key, token); err != nil {
			// The pending record expires by itself after its short TTL.
			log.Warn("dedup release failed", "error", clip(err.Error(), maxLogErrorBytes))
		}
	}

	// Deferred, so a panic (answered 500 by the recover middleware) leaves
	// neither a pending record nor a lost in-flight slot behind.
	defer release()
	err = r.start(c.UserContext(), ev)
	if part, refused := starter.Refused(err); refused {
		// Temporal will refuse this event every time: a 503 would make the
		// provider retry it for ever. The deferred release drops the record.
		field := refusedField(p, part)
		log.Error("webhook refused by Temporal", "field", field, "error", clip(err.Error(), maxLogErrorBytes))
		return OutcomeRejected, c.Status(fiber.StatusBadRequest).JSON(errorBody{Error: "invalid " + field})
	}
	if err != nil {
		log.Error("webhook not handed to Temporal", "error", clip(err.Error(), maxLogErrorBytes))
		c.Set(fiber.HeaderRetryAfter, retryAfterUnavailable)
		return OutcomeUnavailable, c.Status(fiber.StatusServiceUnavailable).JSON(errorBody{Error: "temporarily unavailable, retry later"})
	}
	finished = true // Temporal has the event: the record must stay
	if claimed {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := r.opts.Dedup.Finish(ctx, key, token); err != nil {
			// Temporal has the event; a redelivery is caught by the workflow.
			log.Warn("dedup finish failed", "error", clip(err.Error(), maxLogErrorBytes))
		}
		cancel()
	}
	log.Info("webhook accepted", "event_type", clip(ev.Type, maxLogValueBytes), "status", clip(ev.Status, maxLogValueBytes))
	return OutcomeAccepted, reply(false)
}

// start signals the entity's workflow, starting it when it is not running.
// ctx carries the request's span; its cancellation does not reach the start,
// whose outcome decides the answer even to a provider that went away.
func (r *Receiver) start(ctx context.Context, ev event.Event) error {
	parent := context.Background() // tracing off: nothing to carry
	if r.opts.Tracing.Enabled() {
		parent = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(parent, r.opts.StartTimeout)
	defer cancel()
	_, err := r.opts.Start.Signal(ctx, ev.Provider, ev.EntityType, ev.EntityID, workflows.SignalWebhookEvent, ev)
	return err
}

// Bounds of request-derived values in log lines, so a provider cannot fill
// the logs: IDs, types and reasons are cut at maxLogValueBytes; error texts,
// which wrap an already bounded workflow ID, at maxLogErrorBytes.
const (
	maxLogValueBytes = 128
	maxLogErrorBytes = 512
)

// clip returns s cut to at most max bytes, on a rune boundary, followed by a
// marker with its full length, or s itself when it fits.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[truncated, " + strconv.Itoa(len(s)) + " bytes]"
}

// RequestID returns the request's X-Request-Id, set by the RequestIDs
// middleware.
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(requestIDKey{}).(string); ok {
		return id
	}
	return ""
}

type requestIDKey struct{}

// RequestIDs is middleware that gives every request an ID, the caller's
// X-Request-Id when it is sane, and echoes it on the response.
func RequestIDs(c *fiber.Ctx) error {
	id := string(c.Request().Header.Peek(fiber.HeaderXRequestID))
	if !saneRequestID(id) {
		id = newRequestID()
	}
	c.Locals(requestIDKey{}, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b > '~' || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrorHandler answers Fiber's own errors (unknown route, body over the
// limit) in the same JSON shape, with a request ID.
func ErrorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	}
	if c.GetRespHeader(fiber.HeaderXRequestID) == "" {
		c.Set(fiber.HeaderXRequestID, newRequestID())
	}
	msg := fiber.ErrInternalServerError.Message
	if fe != nil {
		msg = fe.Message
	}
	return c.Status(code).JSON(errorBody{Error: msg})
}

// NewApp returns the Fiber app serving providers through r, and logs which
// are enabled. Each provider is mounted on every one of its routes, enabled
// or not, so that a disabled provider answers 404 with a reason.
func NewApp(r *Receiver, providers []Provider) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "hookflow",
		BodyLimit:             r.opts.MaxBodyBytes,
		DisableStartupMessage: true,
		ErrorHandler:          ErrorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	// A panic answers 500 instead of ending the process; the handler's
	// deferred release has already dropped the event's pending record.
	app.Use(recover.New(), RequestIDs)
	span := r.opts.Tracing.Middleware() // nil when tracing is off
	for _, p := range providers {
		if p.Verifier == nil {
			r.opts.Log.Warn("provider disabled: no secret configured", "provider", p.Name, "routes", p.Routes)
		} else {
			r.opts.Log.Info("provider enabled", "provider", p.Name, "routes", p.Routes)
		}
		handlers := []fiber.Handler{r.Handler(p)}
		if span != nil {
			handlers = append([]fiber.Handler{span}, handlers...)
		}
		for _, route := range p.Routes {
			app.Post(route, handlers...)
		}
	}
	return app
}
