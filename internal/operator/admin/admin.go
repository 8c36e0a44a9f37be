// Package admin serves the HTTP API for operators' programs (contract
// section 15) on the ops listener: an entity's status, a paged listing by
// visibility query, and reprocess and redeliver requests. Each operation is
// the CLI's own (inspect.Describe, operate.ListEntities, operate.Sender), so
// the API and the commands cannot drift apart. It is mounted only when an
// admin token is configured (HOOKFLOW_ADMIN_TOKEN, or a tenant's
// admin_token_env), and every route wants one: a global token reaches every
// entity workflow, a tenant's only that tenant's (contract section 17).
package admin

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/operator/connections"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/internal/operator/operate"
	"github.com/hookflow/hookflow/internal/tenantstore"
)

// OpenAPI is the OpenAPI 3 document of the routes, served at
// /v1/openapi.json; a test holds it against the router.
//
//go:embed openapi.json
var OpenAPI []byte

// Page sizes of GET /v1/entities.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// API is what the admin routes need: the process's configuration, its
// Temporal client and the Sender that reprocess and redeliver signal
// through.
type API struct {
	Config *config.Config
	Client client.Client
	Sender operate.Sender
	// Wait is how long a status waits for the live query; 0 is
	// inspect.LiveQueryWait.
	Wait time.Duration
	// Tenants stores runtime tenants; nil without HOOKFLOW_SECRETS_KEY,
	// when the tenant routes list and read but change nothing.
	Tenants *tenantstore.Store
	// Connections steers and reads the Connection workflows; nil: one over
	// Client, Config and the tenant store, without verified marks.
	Connections *connections.Service
}

// Mount adds the routes under /v1 to app, behind a Bearer check against
// a.Config.AdminTokens and every tenant's (constant-time, every token
// compared), which also decides the request's scope.
func (a *API) Mount(app *fiber.App) {
	auth := newTokens(a.Config)
	v1 := app.Group("/v1", func(c *fiber.Ctx) error {
		s, ok := auth.resolve(c.Get(fiber.HeaderAuthorization))
		if !ok {
			return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "Missing or invalid authorization header"})
		}
		c.Locals(scopeKey{}, s)
		return c.Next()
	})
	v1.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(OpenAPI)
	})
	v1.Get("/entities", a.list)
	v1.Get("/entities/:workflowId", a.status)
	v1.Post("/entities/:workflowId/reprocess", a.reprocess)
	v1.Post("/entities/:workflowId/redeliver", a.redeliver)
	a.mountTenants(v1)
}

// scopeKey keys the request's scope in its Locals.
type scopeKey struct{}

// requestScope is the scope the request's token reaches.
func requestScope(c *fiber.Ctx) scope {
	s, _ := c.Locals(scopeKey{}).(scope)
	return s
}

// errOutOfScope answers a tenant token's request for a workflow that is
// not its tenant's entity as an unknown workflow is answered: 404, the same
// body, so that a tenant learns nothing of another's entities.
var errOutOfScope = serviceerror.NewNotFound("out of the token's scope")

// errBadTenant answers a tenant parameter that is not a tenant ID.
var errBadTenant = errors.New("tenant: not a tenant ID (lower-case letters, digits, '.' and '-', like wearhumans.myshopify.com)")

// tenantParam is the request's tenant parameter, "" when absent, or
// errBadTenant.
func tenantParam(c *fiber.Ctx) (string, error) {
	t := c.Query("tenant")
	if t != "" && !event.ValidTenantID(t) {
		return "", errBadTenant
	}
	return t, nil
}

// entityID is the route's workflow ID as the entity's workflow ID (see
// providers.Registry.WorkflowID), or with a tenant parameter, as that
// tenant's entity (operate.ForTenant: a default-tenant ID is made the
// tenant's). It is errOutOfScope when the request's token is a tenant's and
// the ID is not one of that tenant's entities, and when the tenant
// parameter names no entity of that tenant.
func (a *API) entityID(c *fiber.Ctx) (string, error) {
	raw, err := workflowID(c)
	if err != nil {
		return "", err
	}
	tenant, err := tenantParam(c)
	if err != nil {
		return "", err
	}
	id := a.Config.Providers.WorkflowID(raw)
	if tenant != "" {
		if id, err = operate.ForTenant(a.Config.Providers, tenant, raw); err != nil {
			return "", errOutOfScope
		}
	}
	s := requestScope(c)
	if s.tenant == "" {
		return id, nil
	}
	if tenant, _, _, _, ok := a.Config.Providers.ParseTenantWorkflowID(id); !ok || tenant != s.tenant {
		return "", errOutOfScope
	}
	return id, nil
}

// problem answers code with {"error": msg}.
func problem(c *fiber.Ctx, code int, msg string) error {
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

// workflowID is the route's workflow ID, percent-decoded, as operators may
// write it (an entity ID as it is: inspect and operate resolve it).
func workflowID(c *fiber.Ctx) (string, error) {
	id, err := url.PathUnescape(c.Params("workflowId"))
	if err != nil || id == "" {
		return "", errors.New("invalid workflowId")
	}
	return id, nil
}

// status answers what `hookflow status --json` prints.
func (a *API) status(c *fiber.Ctx) error {
	id, err := a.entityID(c)
	if errors.Is(err, errOutOfScope) {
		return temporalProblem(c, err)
	}
	if err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	wait := a.Wait
	if wait <= 0 {
		wait = inspect.LiveQueryWait
	}
	rep, err := inspect.Describe(c.UserContext(), a.Client, a.Config, id, wait)
	if err != nil {
		return temporalProblem(c, err)
	}
	return c.JSON(rep)
}

// list answers one page of the entities a visibility query finds.
func (a *API) list(c *fiber.Ctx) error {
	size := DefaultPageSize
	if raw := c.Query("pageSize"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > MaxPageSize {
			return problem(c, fiber.StatusBadRequest, "pageSize must be 1 to "+strconv.Itoa(MaxPageSize))
		}
		size = n
	}
	token, err := base64.RawURLEncoding.DecodeString(c.Query("pageToken"))
	if err != nil {
		return problem(c, fiber.StatusBadRequest, "invalid pageToken")
	}
	tenant, err := tenantParam(c)
	if err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	scope := requestScope(c).tenant
	switch {
	case tenant == "":
		tenant = scope
	case scope != "" && tenant != scope:
		// Another tenant's entities: none in a tenant token's reach.
		return c.JSON(fiber.Map{"entities": []operate.Entity{}, "nextPageToken": ""})
	}
	page, err := operate.ListEntities(c.UserContext(), a.Client, a.Config.TemporalNamespace, tenant, c.Query("query"), size, token)
	if err != nil {
		return temporalProblem(c, err)
	}
	return c.JSON(fiber.Map{"entities": page.Entities, "nextPageToken": base64.RawURLEncoding.EncodeToString(page.NextPageToken)})
}

// reprocess signals the entity "reprocess", as `hookflow reprocess` does.
func (a *API) reprocess(c *fiber.Ctx) error {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := optionalBody(c, &body); err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	if body.Reason == "" {
		body.Reason = "admin API reprocess"
	}
	return a.signal(c, operate.Reprocess(body.Reason))
}

// redeliver signals the entity "redeliver", as `hookflow redeliver` does,
// for one destination when the body names one.
func (a *API) redeliver(c *fiber.Ctx) error {
	var body struct {
		Destination string `json:"destination"`
	}
	if err := optionalBody(c, &body); err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	if err := operate.CheckDestination(a.Config, body.Destination); err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	return a.signal(c, operate.Redeliver(body.Destination))
}

// signal sends sig to the route's entity, which must exist (a typo must
// not start a new entity), and answers 202 with the request ID.
func (a *API) signal(c *fiber.Ctx, sig operate.Signal) error {
	id, err := a.entityID(c)
	if errors.Is(err, errOutOfScope) {
		return temporalProblem(c, err)
	}
	if err != nil {
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	d, err := a.Client.DescribeWorkflowExecution(c.UserContext(), id, "")
	if err == nil {
		err = inspect.IsEntity(id, d.GetWorkflowExecutionInfo().GetType().GetName())
	}
	if err != nil {
		return temporalProblem(c, err)
	}
	requestID, failed, err := a.Sender.Send(c.UserContext(), []string{id}, sig, func(int) {})
	if err == nil && len(failed) > 0 {
		err = failed[0].Err
	}
	if err != nil {
		return temporalProblem(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"requestId": requestID, "workflowId": id})
}

// optionalBody decodes a JSON body into v when there is one.
func optionalBody(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return errors.New("invalid JSON body")
	}
	return nil
}

// temporalProblem maps a Temporal error: unknown workflow 404, a refused
// query or argument 400, anything else 503 (try again).
func temporalProblem(c *fiber.Ctx, err error) error {
	var notFound *serviceerror.NotFound
	var invalid *serviceerror.InvalidArgument
	switch {
	case errors.As(err, &notFound):
		return problem(c, fiber.StatusNotFound, "no such entity workflow")
	case errors.As(err, &invalid):
		return problem(c, fiber.StatusBadRequest, invalid.Message)
	case errors.Is(err, operate.ErrQueryUnbalanced):
		return problem(c, fiber.StatusBadRequest, err.Error())
	}
	return problem(c, fiber.StatusServiceUnavailable, err.Error())
}
