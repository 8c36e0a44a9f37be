package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"

	"github.com/hookflow/hookflow/providers"
)

// Fenix's registration API: its version, in the path and the body, and the
// only format hookflow reads.
const (
	fenixAPIVersion = "2024-07"
	fenixWebhooks   = "/admin/api/" + fenixAPIVersion + "/webhooks"
	fenixFormat     = "json"
	fenixActive     = "ACTIVE"
)

// fenixRegistration is the body of a registration, seed 003's fields.
type fenixRegistration struct {
	StoreName  string          `json:"store_name"`
	Topic      string          `json:"topic"`
	Address    string          `json:"address"`
	Format     string          `json:"format"`
	APIVersion string          `json:"api_version"`
	Filters    json.RawMessage `json:"filters"`
}

// fenixWebhook is a webhook as Fenix answers it.
type fenixWebhook struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	StoreName string          `json:"store_name"`
	Topic     string          `json:"topic"`
	Address   string          `json:"address"`
	Filters   json.RawMessage `json:"filters"`
}

func (h fenixWebhook) webhook() Webhook {
	var events []string
	if h.Topic != "" {
		events = []string{h.Topic}
	}
	var filters json.RawMessage
	if len(h.Filters) > 0 {
		filters = slices.Clone(h.Filters)
	}
	return Webhook{ID: h.ID, URL: h.Address, Events: events, Active: h.Status == fenixActive, Status: h.Status, Filters: filters}
}

// fenix registers at Fenix's registration API, one store per tenant.
type fenix struct{ c client }

// Fenix returns the Registrar for Fenix's webhook registration API at
// baseURL (FENIX_API_URL; `hookflow dev` serves a stand-in under
// /sandbox/fenix). Calls carry Want.AccessToken as X-Access-Token; hc is a
// client with a 30-second timeout when nil. It registers the
// tracking/updated topic in JSON with Want.Filters.
//
// Only the registration (POST /admin/api/2024-07/webhooks) is Fenix's
// documented API. Find, Get and Delete use assumed Shopify-style routes
// (docs/providers.md, "Registration stand-ins"): GET …/webhooks?store_name=
// answering {"webhooks":[…]}, GET …/webhooks/{id} answering {"webhook":…},
// DELETE …/webhooks/{id}. Fenix has no documented update, so Update
// registers anew and deletes the old webhook, and no webhook test, so Test
// returns ErrUnsupported.
func Fenix(baseURL string, hc *http.Client) Registrar {
	c := newClient("fenix", baseURL, hc)
	c.auth = func(req *http.Request, want Want) { req.Header.Set("X-Access-Token", want.AccessToken) }
	c.refusal = func(body []byte, e *RefusedError) {
		var a struct {
			Identifier  string `json:"identifier"`
			Description string `json:"description"`
		}
		if json.Unmarshal(body, &a) == nil {
			e.Identifier, e.Description = truncate(a.Identifier, maxDescription), a.Description
		}
	}
	return &fenix{c: c}
}

func (f *fenix) check(want Want) error {
	if err := check(want); err != nil {
		return err
	}
	if len(want.Filters) > MaxFilters {
		return fmt.Errorf("%w: filters are larger than %d bytes", ErrInvalidWant, MaxFilters)
	}
	if len(want.Filters) > 0 {
		var list []json.RawMessage
		if err := json.Unmarshal(want.Filters, &list); err != nil {
			return fmt.Errorf("%w: filters must be a JSON array: %v", ErrInvalidWant, err)
		}
	}
	return nil
}

func (f *fenix) path(id string) string { return fenixWebhooks + "/" + url.PathEscape(id) }

func (f *fenix) Find(ctx context.Context, want Want) (Webhook, bool, error) {
	if err := f.check(want); err != nil {
		return Webhook{}, false, err
	}
	var a struct {
		Webhooks []fenixWebhook `json:"webhooks"`
	}
	path := fenixWebhooks + "?" + url.Values{"store_name": {want.Tenant}}.Encode()
	if err := f.c.call(ctx, want, http.MethodGet, path, nil, &a); err != nil {
		return Webhook{}, false, fmt.Errorf("list fenix webhooks of store %s: %w", want.Tenant, err)
	}
	if len(a.Webhooks) > MaxWebhooks {
		return Webhook{}, false, fmt.Errorf("fenix store %s has %d webhooks, more than %d", want.Tenant, len(a.Webhooks), MaxWebhooks)
	}
	list := make([]Webhook, 0, len(a.Webhooks))
	for _, h := range a.Webhooks {
		// The filter is an assumed one: check the store here too.
		if h.StoreName == want.Tenant {
			list = append(list, h.webhook())
		}
	}
	w, ok := find(f, want, list)
	return w, ok, nil
}

func (f *fenix) Create(ctx context.Context, want Want) (Webhook, error) {
	if err := f.check(want); err != nil {
		return Webhook{}, err
	}
	filters := want.Filters
	if len(filters) == 0 {
		filters = json.RawMessage("[]")
	}
	in := fenixRegistration{
		StoreName: want.Tenant, Topic: providers.FenixTrackingUpdated, Address: want.URL,
		Format: fenixFormat, APIVersion: fenixAPIVersion, Filters: filters,
	}
	var h fenixWebhook
	if err := f.c.call(ctx, want, http.MethodPost, fenixWebhooks, in, &h); err != nil {
		return Webhook{}, fmt.Errorf("register fenix webhook for store %s: %w", want.Tenant, err)
	}
	if h.ID == "" {
		return Webhook{}, fmt.Errorf("register fenix webhook for store %s: answer has no id", want.Tenant)
	}
	return h.webhook(), nil
}

// Get says a webhook of another store is gone: it is not this tenant's.
func (f *fenix) Get(ctx context.Context, want Want, id string) (Webhook, bool, error) {
	if err := f.check(want); err != nil {
		return Webhook{}, false, err
	}
	var a struct {
		Webhook fenixWebhook `json:"webhook"`
	}
	err := f.c.call(ctx, want, http.MethodGet, f.path(id), nil, &a)
	if isGone(err) {
		return Webhook{}, false, nil
	}
	if err != nil {
		return Webhook{}, false, fmt.Errorf("get fenix webhook %s: %w", id, err)
	}
	if a.Webhook.StoreName != want.Tenant {
		return Webhook{}, false, nil
	}
	return a.Webhook.webhook(), true, nil
}

// Update registers anew and then deletes id, as Fenix documents no update.
// It first looks for a webhook already as wanted (id itself, or one an
// interrupted Update registered), so a retry never registers a second.
// Registering before deleting risks, for a moment, a delivery twice
// (once per webhook) rather than a missed one: the workflow's ranks
// tolerate a repeat, not a gap.
func (f *fenix) Update(ctx context.Context, want Want, id string) (Webhook, error) {
	found, ok, err := f.Find(ctx, want)
	if err != nil {
		return Webhook{}, err
	}
	if !ok || len(f.Drift(want, found)) > 0 {
		if found, err = f.Create(ctx, want); err != nil {
			return Webhook{}, err
		}
	}
	if found.ID != id {
		if err := f.Delete(ctx, want, id); err != nil {
			return Webhook{}, fmt.Errorf("replace fenix webhook %s by %s: %w", id, found.ID, err)
		}
	}
	return found, nil
}

func (f *fenix) Delete(ctx context.Context, want Want, id string) error {
	if err := f.check(want); err != nil {
		return err
	}
	err := f.c.call(ctx, want, http.MethodDelete, f.path(id), nil, nil)
	if err != nil && !isGone(err) {
		return fmt.Errorf("delete fenix webhook %s: %w", id, err)
	}
	return nil
}

// Test is unsupported: Fenix has no webhook test. The stand-in's lifecycle
// route is the sandbox's own and must not be called at Fenix.
func (f *fenix) Test(context.Context, Want, string) (TestResult, error) {
	return TestResult{}, fmt.Errorf("test fenix webhook: %w", ErrUnsupported)
}

func (f *fenix) Drift(want Want, got Webhook) []string {
	var reasons []string
	if got.Status != fenixActive {
		reasons = append(reasons, fmt.Sprintf("webhook status is %s, not %s", truncate(got.Status, 64), fenixActive))
	}
	if got.URL != want.URL {
		reasons = append(reasons, fmt.Sprintf("webhook posts to %s, not %s", truncate(got.URL, maxDescription), want.URL))
	}
	if !slices.Contains(got.Events, providers.FenixTrackingUpdated) {
		reasons = append(reasons, fmt.Sprintf("webhook topic is %v, not %s", truncate(fmt.Sprint(got.Events), 64), providers.FenixTrackingUpdated))
	}
	if !sameFilters(want.Filters, got.Filters) {
		reasons = append(reasons, fmt.Sprintf("webhook filters are %s, not %s",
			truncate(compact(got.Filters), maxDescription), truncate(compact(want.Filters), maxDescription)))
	}
	return reasons
}

// sameFilters compares filters as JSON values: key order and spacing do
// not matter, and none, null and [] are the same.
func sameFilters(a, b json.RawMessage) bool {
	va, okA := filterValue(a)
	vb, okB := filterValue(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

func filterValue(raw json.RawMessage) (any, bool) {
	var v any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, false
		}
	}
	if list, ok := v.([]any); v == nil || ok && len(list) == 0 {
		return []any{}, true
	}
	return v, true
}

// compact is raw without spacing, [] for none.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(bytes.TrimSpace(raw)) == 0 {
		return "[]"
	}
	if json.Compact(&b, raw) != nil {
		return "not JSON"
	}
	return b.String()
}

// NeedsSecret: Fenix signs with the app's client secret, not one
// registered with the webhook.
func (f *fenix) NeedsSecret() bool { return false }
