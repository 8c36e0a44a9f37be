package registration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookflow/hookflow/providers"
)

// up42WebhookName is the name hookflow's webhooks carry at UP42.
const up42WebhookName = "hookflow"

// up42Answer is UP42's envelope: {"data":…,"error":null}.
type up42Answer[T any] struct {
	Data  T `json:"data"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// up42Webhook is a webhook as UP42 answers it (never with its secret).
type up42Webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Active bool     `json:"active"`
}

// up42Input is the body of a create and an update, as UP42 documents it.
type up42Input struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
	Active bool     `json:"active"`
}

// up42 registers at UP42's webhooks API, one workspace per tenant.
type up42 struct{ c client }

// UP42 returns the Registrar for UP42's webhooks API at baseURL
// (UP42_API_URL; `hookflow dev` serves a stand-in under /sandbox/up42).
// Calls carry Want.AccessToken as a bearer token; hc is a client with a
// 30-second timeout when nil. It registers the order.status event as
// UP42's event list spells it, signed with Want.Secret.
func UP42(baseURL string, hc *http.Client) Registrar {
	c := newClient("up42", baseURL, hc)
	c.auth = func(req *http.Request, want Want) { req.Header.Set("Authorization", "Bearer "+want.AccessToken) }
	c.refusal = func(body []byte, e *RefusedError) {
		var a up42Answer[json.RawMessage]
		if json.Unmarshal(body, &a) == nil && a.Error != nil {
			e.Description = a.Error.Message
		}
	}
	return &up42{c: c}
}

func (u *up42) path(want Want, id string) string {
	p := "/workspaces/" + url.PathEscape(want.Tenant) + "/webhooks"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

func (u *up42) check(want Want) error {
	if err := check(want); err != nil {
		return err
	}
	if want.Secret == "" {
		return fmt.Errorf("%w: UP42 webhooks need a signing secret", ErrInvalidWant)
	}
	return nil
}

// event is order.status as UP42's event list names it: hookflow registers
// for an event UP42 says exists, and learns of a rename as ErrNoEvent
// rather than as a refused registration.
func (u *up42) event(ctx context.Context, want Want) (string, error) {
	var a up42Answer[[]struct {
		Name string `json:"name"`
	}]
	if err := u.c.call(ctx, want, http.MethodGet, "/webhooks/events", nil, &a); err != nil {
		return "", fmt.Errorf("list up42 webhook events: %w", err)
	}
	if len(a.Data) > MaxEvents {
		return "", fmt.Errorf("up42 lists %d webhook events, more than %d", len(a.Data), MaxEvents)
	}
	for _, e := range a.Data {
		if strings.EqualFold(e.Name, providers.UP42OrderStatus) {
			return e.Name, nil
		}
	}
	return "", fmt.Errorf("%w: up42 does not list %s", ErrNoEvent, providers.UP42OrderStatus)
}

// input is the create or update body for want.
func (u *up42) input(ctx context.Context, want Want) (up42Input, error) {
	if err := u.check(want); err != nil {
		return up42Input{}, err
	}
	event, err := u.event(ctx, want)
	if err != nil {
		return up42Input{}, err
	}
	return up42Input{Name: up42WebhookName, URL: want.URL, Events: []string{event}, Secret: want.Secret, Active: true}, nil
}

func (h up42Webhook) webhook() (Webhook, error) {
	if len(h.Events) > MaxEvents {
		return Webhook{}, fmt.Errorf("up42 webhook %s names %d events, more than %d", h.ID, len(h.Events), MaxEvents)
	}
	return Webhook{ID: h.ID, URL: h.URL, Events: h.Events, Active: h.Active}, nil
}

func (u *up42) Find(ctx context.Context, want Want) (Webhook, bool, error) {
	if err := u.check(want); err != nil {
		return Webhook{}, false, err
	}
	var a up42Answer[[]up42Webhook]
	if err := u.c.call(ctx, want, http.MethodGet, u.path(want, ""), nil, &a); err != nil {
		return Webhook{}, false, fmt.Errorf("list up42 webhooks of workspace %s: %w", want.Tenant, err)
	}
	if len(a.Data) > MaxWebhooks {
		return Webhook{}, false, fmt.Errorf("up42 workspace %s has %d webhooks, more than %d", want.Tenant, len(a.Data), MaxWebhooks)
	}
	list := make([]Webhook, 0, len(a.Data))
	for _, h := range a.Data {
		w, err := h.webhook()
		if err != nil {
			return Webhook{}, false, err
		}
		list = append(list, w)
	}
	w, ok := find(u, want, list)
	return w, ok, nil
}

func (u *up42) Create(ctx context.Context, want Want) (Webhook, error) {
	in, err := u.input(ctx, want)
	if err != nil {
		return Webhook{}, err
	}
	var a up42Answer[up42Webhook]
	if err := u.c.call(ctx, want, http.MethodPost, u.path(want, ""), in, &a); err != nil {
		return Webhook{}, fmt.Errorf("create up42 webhook in workspace %s: %w", want.Tenant, err)
	}
	if a.Data.ID == "" {
		return Webhook{}, fmt.Errorf("create up42 webhook in workspace %s: answer has no id", want.Tenant)
	}
	return a.Data.webhook()
}

func (u *up42) Get(ctx context.Context, want Want, id string) (Webhook, bool, error) {
	if err := u.check(want); err != nil {
		return Webhook{}, false, err
	}
	var a up42Answer[up42Webhook]
	err := u.c.call(ctx, want, http.MethodGet, u.path(want, id), nil, &a)
	if isGone(err) {
		return Webhook{}, false, nil
	}
	if err != nil {
		return Webhook{}, false, fmt.Errorf("get up42 webhook %s: %w", id, err)
	}
	w, err := a.Data.webhook()
	return w, err == nil, err
}

// Update puts the whole webhook again: UP42's update replaces it, secret
// included, so a rotation is an Update with the new secret.
func (u *up42) Update(ctx context.Context, want Want, id string) (Webhook, error) {
	in, err := u.input(ctx, want)
	if err != nil {
		return Webhook{}, err
	}
	var a up42Answer[up42Webhook]
	if err := u.c.call(ctx, want, http.MethodPut, u.path(want, id), in, &a); err != nil {
		return Webhook{}, fmt.Errorf("update up42 webhook %s: %w", id, err)
	}
	return a.Data.webhook()
}

func (u *up42) Delete(ctx context.Context, want Want, id string) error {
	if err := u.check(want); err != nil {
		return err
	}
	err := u.c.call(ctx, want, http.MethodDelete, u.path(want, id), nil, nil)
	if err != nil && !isGone(err) {
		return fmt.Errorf("delete up42 webhook %s: %w", id, err)
	}
	return nil
}

func (u *up42) Test(ctx context.Context, want Want, id string) (TestResult, error) {
	if err := u.check(want); err != nil {
		return TestResult{}, err
	}
	var a up42Answer[struct {
		Run       int `json:"testsRun"`
		Succeeded int `json:"testsSucceeded"`
		Failed    int `json:"testsFailed"`
	}]
	if err := u.c.call(ctx, want, http.MethodPost, u.path(want, id)+"/tests", nil, &a); err != nil {
		return TestResult{}, fmt.Errorf("test up42 webhook %s: %w", id, err)
	}
	return TestResult{Run: a.Data.Run, Succeeded: a.Data.Succeeded, Failed: a.Data.Failed}, nil
}

// Drift cannot see the secret: UP42 never answers it. A rotation is an
// Update, not a repair of drift.
func (u *up42) Drift(want Want, got Webhook) []string {
	var reasons []string
	if !got.Active {
		reasons = append(reasons, "webhook is inactive")
	}
	if got.URL != want.URL {
		reasons = append(reasons, fmt.Sprintf("webhook posts to %s, not %s", truncate(got.URL, maxDescription), want.URL))
	}
	if !slices.ContainsFunc(got.Events, func(e string) bool { return strings.EqualFold(e, providers.UP42OrderStatus) }) {
		reasons = append(reasons, "webhook lacks event "+providers.UP42OrderStatus)
	}
	return reasons
}

// NeedsSecret: UP42 signs with the secret registered with the webhook.
func (u *up42) NeedsSecret() bool { return true }
