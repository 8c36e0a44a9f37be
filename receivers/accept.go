package receivers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

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
	// Tenants are the configured tenants' verifiers (BindTenants); nil:
	// no tenants, every delivery is the default tenant's. SetTenants
	// replaces them while the receiver runs.
	Tenants *Tenants
	// Verified is told of every delivery that passed verification, by
	// provider and tenant (verified.Marks); nil tells nobody.
	Verified interface{ Mark(provider, tenant string) }
	// RuntimeTenants serves the tenant routes even while Tenants is nil,
	// because tenants may be added at runtime (contract section 18).
	RuntimeTenants bool
}

// Metrics counts deliveries. It is defined here, where it is used; the
// Prometheus implementation lives with the process wiring.
type Metrics interface {
	// Delivery records one answered delivery and how long it took.
	Delivery(provider, outcome string, took time.Duration)
	// DedupError records a dedup store failure that was worked around.
	DedupError(provider string)
	// Throttled records a delivery of tenant, a configured tenant's ID,
	// answered 429 for being past one of its caps: reason is "in_flight"
	// or "rate".
	Throttled(tenant, reason string)
}

type noMetrics struct{}

func (noMetrics) Delivery(string, string, time.Duration) {}
func (noMetrics) DedupError(string)                      {}
func (noMetrics) Throttled(string, string)               {}

// Receiver is the shared accept path of every provider.
type Receiver struct {
	opts     Options
	inFlight chan struct{}
	// tenants are the verifiers in use: Options.Tenants, then each
	// SetTenants's. A delivery loads them once, so a swap never mixes two
	// generations in one request.
	tenants atomic.Pointer[Tenants]
	// tenantsLoaded is false while runtime tenants are on and none were
	// listed yet: a tenant not found then may exist, so it is answered 503
	// (retry), not 401.
	tenantsLoaded atomic.Bool
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
	r := &Receiver{opts: opts, inFlight: make(chan struct{}, opts.MaxInFlight)}
	r.tenants.Store(opts.Tenants)
	r.tenantsLoaded.Store(!opts.RuntimeTenants)
	return r
}

// SetTenants replaces the tenants' verifiers (BindTenants of every tenant,
// from the file and runtime alike): deliveries from then on resolve
// against t. Each tenant keeps its caps' in-flight count and rate across
// the swap (carryCaps), so a change of tenants never frees a busy tenant's
// slots.
func (r *Receiver) SetTenants(t *Tenants) {
	t.carryCaps(r.tenants.Load())
	r.tenants.Store(t)
	r.tenantsLoaded.Store(true)
}

// Handler returns the Fiber handler of provider p on its own routes.
func (r *Receiver) Handler(p Provider) fiber.Handler { return r.handler(p, false) }

// handler is the Fiber handler of provider p; tenantRoute says the route
// names the tenant (Provider.TenantRoute).
func (r *Receiver) handler(p Provider, tenantRoute bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		d := delivery{r: r, c: c, p: &p, reqID: RequestID(c), header: requestHeader(&c.Request().Header), tenantRoute: tenantRoute}
		a := r.accept(&d)
		err := write(&d, a)
		r.opts.Metrics.Delivery(p.Name, string(a.outcome()), time.Since(start))
		return err
	}
}

// delivery is one request on its way along the accept path: what the steps
// have learnt of it so far.
type delivery struct {
	r     *Receiver
	c     *fiber.Ctx
	p     *Provider
	reqID string
	// header looks up a request header as RFC 9110 reads it.
	header Header
	// tenantRoute is set on /webhooks/<provider>/<tenant>; resolve sets
	// tenant ("" the default) and the verifier that alone may authenticate
	// the delivery, and unknownTenant when the tenant does not exist.
	tenantRoute   bool
	tenant        string
	verifier      Verifier
	unknownTenant bool
	caps          *tenantCaps // the tenant's caps, nil for none (the default tenant)
	body          []byte      // the raw bytes as sent, Fiber's buffer: copy what outlives the handler
	ev            event.Event
	wfID          string
	// parsed is set once ev is known: log lines then name its IDs.
	parsed bool
}

// requestHeader is the Header lookup of a request's headers. It closes
// over the headers alone, so that the delivery itself stays on the stack.
func requestHeader(h *fasthttp.RequestHeader) Header {
	return func(name string) string { return signature.FieldValue(h.Peek(name)) }
}

// accept takes a delivery along the accept path, a row of steps each of
// which answers it or lets it go on: resolve (the tenant), verify, parse, admit (an in-flight
// slot), claim (the dedup record), start (Temporal) and settle (the claim).
func (r *Receiver) accept(d *delivery) answer {
	if a := r.resolve(d); a.decided() {
		return a
	}
	if a := r.verify(d); a.decided() {
		return a
	}
	if r.opts.Verified != nil {
		r.opts.Verified.Mark(d.p.Name, d.tenant) // names as configured, never the request's bytes
	}
	if a := r.parse(d); a.decided() {
		return a
	}
	if a := r.admit(d); a.decided() {
		return a
	}
	// Deferred first, so it runs last: after the claim's release.
	defer r.leave(d)
	cl, a := r.claim(d)
	if a.decided() {
		return a
	}
	// Deferred, so a panic (answered 500 by the recover middleware) leaves
	// no pending record behind; a settled claim has nothing to release.
	defer cl.release(d)
	a = r.start(d)
	r.settle(d, &cl, a)
	return a
}

// verify checks the provider is enabled, takes the raw body and
// authenticates it: before anything reads it.
func (r *Receiver) verify(d *delivery) answer {
	if d.verifier == nil {
		return answer{row: rowDisabled, detail: "provider " + d.p.Name + " is not enabled"}
	}
	// The raw bytes as sent: signatures are over them, and c.Body() would
	// inflate a compressed body, unauthenticated and without a size limit.
	if enc := d.c.Request().Header.ContentEncoding(); len(enc) > 0 && !bytes.EqualFold(enc, []byte("identity")) {
		return answer{row: rowEncoded}
	}
	d.body = d.c.Request().Body()
	if len(d.body) > r.opts.MaxBodyBytes {
		return answer{row: rowTooLarge}
	}
	err := d.verifier.Verify(d.body, d.header)
	if err == nil && d.unknownTenant {
		err = ErrInvalidCredentials // the decoy's secret is public
	}
	if err != nil {
		// A provider that documents its 401 message gets it whether the
		// credential is missing or wrong (Fenix answers both alike).
		msg := d.p.Unauthorized
		switch {
		case msg != "":
		case errors.Is(err, ErrInvalidCredentials):
			msg = "Invalid credentials"
		default:
			msg = "Missing or invalid authorization header"
		}
		d.logWarn("webhook rejected", slog.String("reason", clip(err.Error(), maxLogValueBytes)))
		return answer{row: rowUnauthorized, detail: msg}
	}
	return proceed
}

// parse makes the event of the authenticated body and checks its IDs.
func (r *Receiver) parse(d *delivery) answer {
	ev, err := d.p.Parse(d.body, d.header)
	if err != nil {
		var missing *MissingFieldsError
		switch {
		case errors.Is(err, ErrIgnored):
			d.logInfo("webhook ignored", slog.String("event_type", clip(ev.Type, maxLogValueBytes)))
			return answer{row: rowIgnored}
		case errors.As(err, &missing):
			return answer{row: rowMissingFields, required: missing.Required}
		}
		return answer{row: rowInvalidJSON}
	}
	// Before the dedup claim: an unusable ID must leave no record, and
	// Temporal would refuse it for ever, so the provider must not retry.
	if field := unusableIDField(d.p, ev); field != "" {
		d.logWarn("webhook refused: unusable identifier", slog.String("field", field),
			slog.String("entity_id", clip(ev.EntityID, maxLogValueBytes)), slog.String("event_id", clip(ev.ID, maxLogValueBytes)))
		return answer{row: rowUnusableID, detail: field}
	}
	ev.Provider = d.p.Name
	ev.Tenant = d.tenant
	if d.p.UnsignedEventID {
		ev.BodyDigest = bodyDigest(d.body)
	}
	ev.RequestID = d.reqID
	ev.ReceivedAt = time.Now().UTC()
	if r.opts.Tracing.Enabled() {
		ev.TraceParent = tracing.TraceParent(d.c.UserContext())
	}
	d.ev, d.wfID, d.parsed = ev, ev.WorkflowID(), true
	return proceed
}

// admit takes the tenant's caps (admitTenant), then an in-flight slot, or
// answers 429. It comes before any Redis round trip, so that an overloaded
// receiver answers at once, even while Redis hangs. The slot covers the
// claim, the start and the settling; a duplicate refused here is answered
// from Redis on the provider's retry. leave gives the slots back.
func (r *Receiver) admit(d *delivery) answer {
	if a := r.admitTenant(d); a.decided() {
		return a
	}
	select {
	case r.inFlight <- struct{}{}:
		return proceed
	default:
		d.caps.leave()
		d.logWarn("webhook refused: too many deliveries in flight")
		return answer{row: rowOverloaded}
	}
}

// leave gives back the slots admit took.
func (r *Receiver) leave(d *delivery) {
	<-r.inFlight
	d.caps.leave()
}

// claim claims the event's dedup records: a duplicate or an event in flight
// elsewhere is answered here. A store that fails is done without: the
// workflow's own event memory keeps processing exactly-once.
func (r *Receiver) claim(d *delivery) (claim, answer) {
	cl := claim{store: r.opts.Dedup}
	if r.opts.Dedup == nil {
		return cl, proceed
	}
	cl.keys = dedupKeys(d.p.Name, d.tenant, d.ev)
	got, err := r.opts.Dedup.Claim(d.c.UserContext(), cl.keys...)
	switch {
	case errors.Is(err, dedup.ErrSkipped):
		// Failing moments ago (that failure was logged): accept without
		// it; nothing was written, so the claim owns nothing.
		d.logDebug("dedup store skipped after a recent failure")
		r.opts.Metrics.DedupError(d.p.Name)
	case err != nil:
		// The claim may have been written unseen (its reply lost): own it,
		// by its token, so that only that record is finished or released.
		d.logWarn("dedup store unavailable, accepting without it", errorAttr(err))
		r.opts.Metrics.DedupError(d.p.Name)
		cl.token, cl.owned = got.Token, true
	case got.State == dedup.Done:
		// At debug: a redelivery is answered at Redis speed, and a log
		// line per duplicate would cost a tenth of a bare handler;
		// hookflow_webhook_requests_total{outcome="duplicate"} counts it.
		d.logDebug("webhook duplicate")
		return cl, answer{row: rowDuplicate}
	case got.State == dedup.InFlight:
		return cl, answer{row: rowInFlight}
	default:
		cl.token, cl.owned = got.Token, true
	}
	return cl, proceed
}

// dedupKeys are the keys of an event's dedup records: its event ID's,
// <provider>:<event ID> for the default tenant, as it always was, and
// <provider>@<tenant>:<event ID> for a tenant's; and where the event ID is
// outside the signature, its signed body's too,
// <provider>[@<tenant>]#sha256:<hex> (contract section 17). No provider
// name holds '@', ':' or '#', nor a tenant ':' or '#', so no two tenants'
// keys meet, and no event ID's key is a body's.
func dedupKeys(provider, tenant string, ev event.Event) []string {
	ns := provider
	if tenant != "" {
		ns += "@" + tenant
	}
	if ev.BodyDigest == "" {
		return []string{ns + ":" + ev.ID}
	}
	return []string{ns + ":" + ev.ID, ns + "#sha256:" + ev.BodyDigest}
}

// bodyDigest is the hex SHA-256 of a signed body, as sent.
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// start hands the event to Temporal: accepted once SignalWithStart has
// returned, refused for good when Temporal will refuse it every time, else
// unavailable.
func (r *Receiver) start(d *delivery) answer {
	d.ev.Body = bytes.Clone(d.body) // Fiber reuses its buffers after the handler returns
	err := r.signal(d.c.UserContext(), d.ev)
	if part, refused := starter.Refused(err); refused {
		// A 503 would make the provider retry it for ever; the claim is
		// released, so the answer leaves no record.
		field := refusedField(d.p, part)
		d.logError("webhook refused by Temporal", slog.String("field", field), errorAttr(err))
		return answer{row: rowRejected, detail: field}
	}
	if err != nil {
		d.logError("webhook not handed to Temporal", errorAttr(err))
		return answer{row: rowUnavailable}
	}
	return answer{row: rowAccepted}
}

// settle finishes the claim of an accepted event, whose record must stay,
// and releases any other, so that no failed start leaves a record.
func (r *Receiver) settle(d *delivery, cl *claim, a answer) {
	if a.row != rowAccepted {
		cl.release(d)
		return
	}
	cl.finish(d)
	d.logInfo("webhook accepted", slog.String("event_type", clip(d.ev.Type, maxLogValueBytes)),
		slog.String("status", clip(d.ev.Status, maxLogValueBytes)))
}

// signal signals the entity's workflow, starting it when it is not running.
// ctx carries the request's span; its cancellation does not reach the start,
// whose outcome decides the answer even to a provider that went away.
func (r *Receiver) signal(ctx context.Context, ev event.Event) error {
	parent := context.Background() // tracing off: nothing to carry
	if r.opts.Tracing.Enabled() {
		parent = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(parent, r.opts.StartTimeout)
	defer cancel()
	_, err := r.opts.Start.SignalTenant(ctx, ev.Tenant, ev.Provider, ev.EntityType, ev.EntityID, workflows.SignalWebhookEvent, ev)
	return err
}

// The delivery's log lines carry its request ID and provider, its trace
// when tracing is on, and once parsed its event, entity and workflow IDs;
// nothing is built for a level the logger does not enable.
func (d *delivery) logDebug(msg string, attrs ...slog.Attr) { d.log(slog.LevelDebug, msg, attrs) }
func (d *delivery) logInfo(msg string, attrs ...slog.Attr)  { d.log(slog.LevelInfo, msg, attrs) }
func (d *delivery) logWarn(msg string, attrs ...slog.Attr)  { d.log(slog.LevelWarn, msg, attrs) }
func (d *delivery) logError(msg string, attrs ...slog.Attr) { d.log(slog.LevelError, msg, attrs) }

func (d *delivery) log(level slog.Level, msg string, attrs []slog.Attr) {
	l, ctx := d.r.opts.Log, context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	all := make([]slog.Attr, 0, 10+len(attrs))
	all = append(all, slog.String("request_id", d.reqID), slog.String("provider", d.p.Name))
	if d.tenant != "" {
		all = append(all, slog.String("tenant", d.tenant))
	}
	if d.r.opts.Tracing.Enabled() {
		kv := tracing.LogAttrs(d.c.UserContext())
		for i := 0; i+1 < len(kv); i += 2 {
			all = append(all, slog.Any(kv[i].(string), kv[i+1]))
		}
	}
	if d.parsed {
		// The entity ID as sent: the workflow ID encodes one outside ASCII.
		all = append(all, slog.String("event_id", clip(d.ev.ID, maxLogValueBytes)),
			slog.String("entity_id", clip(d.ev.EntityID, maxLogValueBytes)),
			slog.String("workflow_id", clip(d.wfID, maxLogValueBytes)))
	}
	l.LogAttrs(ctx, level, msg, append(all, attrs...)...)
}

// errorAttr is err for a log line, clipped.
func errorAttr(err error) slog.Attr { return slog.String("error", clip(err.Error(), maxLogErrorBytes)) }

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
	// After every provider's own routes, so that none is shadowed.
	if r.opts.Tenants != nil || r.opts.RuntimeTenants {
		for _, p := range providers {
			handlers := []fiber.Handler{r.handler(p, true)}
			if span != nil {
				handlers = append([]fiber.Handler{span}, handlers...)
			}
			app.Post(p.TenantRoute(), handlers...)
			r.opts.Log.Info("tenant route", "provider", p.Name, "route", p.TenantRoute())
		}
	}
	return app
}
