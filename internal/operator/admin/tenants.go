package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/internal/operator/connections"
	"github.com/hookflow/hookflow/internal/tenantstore"
	"github.com/hookflow/hookflow/workflows"
)

// maxTenantBody bounds a PUT /v1/tenants/{id} body: a few secrets and
// tokens of a few providers.
const maxTenantBody = 64 << 10

// tenantPut is a PUT /v1/tenants/{id} body: the tenant's whole set of
// webhook secrets and API tokens, by provider.
type tenantPut struct {
	Secrets      map[string][]string        `json:"secrets"`
	AccessTokens map[string]string          `json:"accessTokens"`
	Filters      map[string]json.RawMessage `json:"filters"`
}

// mountTenants adds the runtime tenants' routes (contract section 18).
// A tenant's token reads its own tenant only, and changes none.
func (a *API) mountTenants(v1 fiber.Router) {
	v1.Get("/tenants", a.listTenants)
	v1.Get("/tenants/:id", a.getTenant)
	v1.Put("/tenants/:id", a.putTenant)
	v1.Delete("/tenants/:id", a.deleteTenant)
	a.mountConnections(v1)
}

func (a *API) store() *tenantstore.Store {
	if a.Tenants != nil {
		return a.Tenants
	}
	// Without HOOKFLOW_SECRETS_KEY: the file's tenants and any runtime
	// ones are listed; changes answer that the key is missing.
	return &tenantstore.Store{Client: a.Client, Namespace: a.Config.TemporalNamespace, File: a.Config.Tenants}
}

func (a *API) listTenants(c *fiber.Ctx) error {
	ts, err := a.store().List(c.UserContext())
	if err != nil {
		return tenantProblem(c, err)
	}
	if s := requestScope(c); s.tenant != "" {
		var own []tenantstore.Tenant
		for _, t := range ts {
			if t.ID == s.tenant {
				own = append(own, t)
			}
		}
		ts = own
	}
	if ts == nil {
		ts = []tenantstore.Tenant{}
	}
	return c.JSON(fiber.Map{"tenants": ts})
}

func (a *API) getTenant(c *fiber.Ctx) error {
	id := c.Params("id")
	if othersTenant(c) {
		return tenantProblem(c, tenantstore.ErrNotFound)
	}
	t, err := a.store().Get(c.UserContext(), id)
	if err != nil {
		return tenantProblem(c, err)
	}
	return c.JSON(t)
}

func (a *API) putTenant(c *fiber.Ctx) error {
	if requestScope(c).tenant != "" {
		return problem(c, fiber.StatusForbidden, "a tenant's token cannot change tenants")
	}
	if len(c.Body()) > maxTenantBody {
		return problem(c, fiber.StatusRequestEntityTooLarge, "body larger than 64 KiB")
	}
	var in tenantPut
	if len(c.Body()) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.Body()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return problem(c, fiber.StatusBadRequest, "body: want {\"secrets\":{\"<provider>\":[\"…\"]},\"accessTokens\":{\"<provider>\":\"…\"}}")
		}
	}
	// Answered once the tenant's workflow has taken the change, with what
	// the tenant became; 202 when that takes longer than a moment (the
	// change is Temporal's all the same).
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	id := c.Params("id")
	t, err := a.store().Apply(ctx, id, tenantstore.Change{Replace: true, Secrets: in.Secrets, AccessTokens: in.AccessTokens, Filters: in.Filters})
	if errors.Is(err, tenantstore.ErrNotTaken) {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": id, "status": err.Error()})
	}
	if err != nil {
		return tenantProblem(c, err)
	}
	return c.JSON(t)
}

func (a *API) deleteTenant(c *fiber.Ctx) error {
	if requestScope(c).tenant != "" {
		return problem(c, fiber.StatusForbidden, "a tenant's token cannot change tenants")
	}
	if err := a.store().Remove(c.UserContext(), c.Params("id")); err != nil {
		return tenantProblem(c, err)
	}
	return c.JSON(fiber.Map{"id": c.Params("id"), "status": "removed; its webhooks get 401 within 5 s"})
}

// tenantProblem maps the store's errors to statuses.
func tenantProblem(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, tenantstore.ErrNotFound):
		return problem(c, fiber.StatusNotFound, "no such tenant")
	case errors.Is(err, tenantstore.ErrBadID), errors.Is(err, tenantstore.ErrInvalid):
		return problem(c, fiber.StatusBadRequest, err.Error())
	case errors.Is(err, tenantstore.ErrReadOnly):
		return problem(c, fiber.StatusConflict, err.Error())
	case errors.Is(err, tenantstore.ErrNoKey):
		return problem(c, fiber.StatusNotImplemented, err.Error())
	}
	return temporalProblem(c, err)
}

// connectionPost is a POST /v1/tenants/{id}/connections body.
type connectionPost struct {
	Provider   string          `json:"provider"`
	Policy     string          `json:"policy"`
	CheckEvery string          `json:"checkEvery"`
	Overlap    string          `json:"overlap"`
	Filters    json.RawMessage `json:"filters"`
}

// mountConnections adds the connections' routes (contract section 18): a
// tenant's token reads its own tenant's, only the global token changes.
func (a *API) mountConnections(v1 fiber.Router) {
	v1.Get("/tenants/:id/connections", a.listConnections)
	v1.Post("/tenants/:id/connections", a.postConnection)
	v1.Get("/tenants/:id/connections/:provider", a.getConnection)
	v1.Delete("/tenants/:id/connections/:provider", a.deleteConnection)
}

func (a *API) connections() *connections.Service {
	if a.Connections != nil {
		return a.Connections
	}
	return &connections.Service{Client: a.Client, Config: a.Config, Tenants: a.store()}
}

// othersTenant says whether the route's tenant is out of a tenant token's
// reach: it is then answered as an unknown one.
func othersTenant(c *fiber.Ctx) bool {
	s := requestScope(c)
	return s.tenant != "" && s.tenant != c.Params("id")
}

func (a *API) listConnections(c *fiber.Ctx) error {
	if othersTenant(c) {
		return tenantProblem(c, tenantstore.ErrNotFound)
	}
	list, err := a.connections().List(c.UserContext(), c.Params("id"))
	if err != nil {
		return connectionProblem(c, err)
	}
	if list == nil {
		list = []workflows.ConnectionState{}
	}
	return c.JSON(fiber.Map{"connections": list})
}

func (a *API) getConnection(c *fiber.Ctx) error {
	if othersTenant(c) {
		return tenantProblem(c, tenantstore.ErrNotFound)
	}
	st, err := a.connections().Get(c.UserContext(), c.Params("provider"), c.Params("id"))
	if err != nil {
		return connectionProblem(c, err)
	}
	return c.JSON(st)
}

func (a *API) postConnection(c *fiber.Ctx) error {
	if requestScope(c).tenant != "" {
		return problem(c, fiber.StatusForbidden, "a tenant's token cannot connect")
	}
	if len(c.Body()) > maxTenantBody {
		return problem(c, fiber.StatusRequestEntityTooLarge, "body larger than 64 KiB")
	}
	var in connectionPost
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Provider == "" {
		return problem(c, fiber.StatusBadRequest, `body: want {"provider":"up42"} and optionally policy, checkEvery, overlap, filters`)
	}
	opts := connections.Options{Policy: in.Policy, Filters: in.Filters}
	for _, d := range []struct {
		raw string
		to  *time.Duration
	}{{in.CheckEvery, &opts.CheckEvery}, {in.Overlap, &opts.Overlap}} {
		if d.raw == "" {
			continue
		}
		v, err := time.ParseDuration(d.raw)
		if err != nil || v < 0 {
			return problem(c, fiber.StatusBadRequest, "checkEvery and overlap are durations, like 15m or 24h")
		}
		*d.to = v
	}
	svc, tenant := a.connections(), c.Params("id")
	if err := svc.Connect(c.UserContext(), in.Provider, tenant, opts); err != nil {
		return connectionProblem(c, err)
	}
	st, _ := svc.Get(c.UserContext(), in.Provider, tenant)
	return c.Status(fiber.StatusAccepted).JSON(st)
}

func (a *API) deleteConnection(c *fiber.Ctx) error {
	if requestScope(c).tenant != "" {
		return problem(c, fiber.StatusForbidden, "a tenant's token cannot disconnect")
	}
	svc, provider, tenant := a.connections(), c.Params("provider"), c.Params("id")
	if err := svc.Disconnect(c.UserContext(), provider, tenant); err != nil {
		return connectionProblem(c, err)
	}
	st, _ := svc.Get(c.UserContext(), provider, tenant)
	return c.Status(fiber.StatusAccepted).JSON(st)
}

// connectionProblem maps the connections' errors to statuses.
func connectionProblem(c *fiber.Ctx, err error) error {
	var manual *connections.ManualError
	switch {
	case errors.As(err, &manual):
		return problem(c, fiber.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, connections.ErrNotConnected):
		return problem(c, fiber.StatusNotFound, "no such connection")
	case errors.Is(err, connections.ErrUnknownProvider):
		return problem(c, fiber.StatusBadRequest, err.Error())
	case errors.Is(err, connections.ErrNoPublicURL):
		return problem(c, fiber.StatusNotImplemented, err.Error())
	}
	return tenantProblem(c, err)
}
