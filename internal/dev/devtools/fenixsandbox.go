package devtools

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/providers"
)

// fenixAPIVersion is the registration API's version, in its path and
// the only api_version it accepts.
const fenixAPIVersion = "2024-07"

// fenixFilter is one filter of a Fenix registration: a carrier and, under
// it, the delivery statuses wanted from it.
type fenixFilter struct {
	Carrier   string `json:"carrier"`
	SubFilter struct {
		DeliveryStatuses []string `json:"delivery_statuses"`
	} `json:"sub_filter"`
}

// fenixRegistration is a Fenix webhook registration, as posted and as
// answered.
type fenixRegistration struct {
	StoreName  string        `json:"store_name"`
	Topic      string        `json:"topic"`
	Address    string        `json:"address"`
	Format     string        `json:"format"`
	APIVersion string        `json:"api_version"`
	Filters    []fenixFilter `json:"filters"`
}

// fenixStatuses are the statuses a Fenix webhook can have; only an ACTIVE
// one is delivered to.
var fenixStatuses = []string{"ACTIVE", "INACTIVE", "DISABLED"}

// fenixWebhook is one registered Fenix webhook.
type fenixWebhook struct {
	ID     string `json:"id"`
	Status string `json:"status"` // one of fenixStatuses
	fenixRegistration
	CreatedAt time.Time `json:"created_at"`
	seq       int       // registration order, for the list
}

// check says what is wrong with reg, or "": known statuses are those of
// the provider's shipment table.
func (reg fenixRegistration) check(statuses map[string]int) string {
	var bad []string
	if reg.StoreName == "" || len(reg.StoreName) > maxSandboxField {
		bad = append(bad, "store_name must be 1 to 2048 characters")
	}
	if reg.Topic != providers.FenixTrackingUpdated {
		bad = append(bad, fmt.Sprintf("topic %q is not supported (%s)", truncate(reg.Topic), providers.FenixTrackingUpdated))
	}
	if reg.Address == "" {
		bad = append(bad, "address is required")
	} else if msg := checkURL(reg.Address); msg != "" {
		bad = append(bad, "address "+msg)
	}
	if reg.Format != "json" {
		bad = append(bad, `format must be "json"`)
	}
	if reg.APIVersion != fenixAPIVersion {
		bad = append(bad, "api_version must be "+fenixAPIVersion)
	}
	if len(reg.Filters) > maxSandboxList {
		bad = append(bad, "at most 50 filters")
	}
	for _, f := range reg.Filters {
		if f.Carrier == "" || len(f.Carrier) > maxSandboxField {
			bad = append(bad, "each filter needs a carrier")
			break
		}
		if len(f.SubFilter.DeliveryStatuses) > maxSandboxList {
			bad = append(bad, "at most 50 delivery statuses per filter")
			break
		}
		for _, st := range f.SubFilter.DeliveryStatuses {
			if _, ok := statuses[st]; !ok {
				bad = append(bad, fmt.Sprintf("unknown delivery status %q", truncate(st)))
				break
			}
		}
	}
	return strings.Join(bad, "; ")
}

// fenixSandbox is an in-memory Fenix webhook registration API. A scripted
// lifecycle sends a registered webhook's address signed tracking/updated
// deliveries, as providers.Fenix samples and signs them.
type fenixSandbox struct {
	opts  SandboxOptions
	fenix providers.Provider

	mu       sync.Mutex
	webhooks map[string]*fenixWebhook
	seq      int
}

// NewFenixSandbox returns an empty Fenix registration API, its routes
// relative to the API's root, /admin/api/2024-07/webhooks:
//
//	POST   …/webhooks                        registers (seed 003's body and answers)
//	GET    …/webhooks[?store_name=S]         lists: {"webhooks":[…]}, oldest first
//	GET    …/webhooks/{webhookId}            {"webhook":…}, or 404 NOT_FOUND
//	DELETE …/webhooks/{webhookId}            200 {}, or 404 NOT_FOUND
//	POST   …/webhooks/{webhookId}/lifecycle  sandbox only: sends an ACTIVE webhook's address a shipment's lifecycle
//	POST   …/webhooks/{webhookId}/status     sandbox only: {"status":"DISABLED"} sets the status, as Fenix
//	                                         would after failed deliveries, to break a webhook in tests
//
// Seed 003 shows only the POST. The list, get and delete are assumed
// shapes, laid out as Shopify's REST webhooks API (Fenix's is
// Shopify-like): the list filtered by the store, each answer wrapped in
// "webhooks" or "webhook", errors as {identifier, description}. Webhooks are
// scoped by store_name, not by access token. Every request needs an
// X-Access-Token; any token is accepted.
func NewFenixSandbox(opts SandboxOptions) http.Handler {
	s := &fenixSandbox{opts: opts, fenix: provider("fenix"), webhooks: map[string]*fenixWebhook{}}
	mux := http.NewServeMux()
	base := "/admin/api/" + fenixAPIVersion + "/webhooks"
	mux.HandleFunc("POST "+base, s.create)
	mux.HandleFunc("GET "+base, s.list)
	mux.HandleFunc("GET "+base+"/{webhookId}", s.get)
	mux.HandleFunc("DELETE "+base+"/{webhookId}", s.delete)
	mux.HandleFunc("POST "+base+"/{webhookId}/lifecycle", s.lifecycle)
	mux.HandleFunc("POST "+base+"/{webhookId}/status", s.setStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fenixError(w, http.StatusNotFound, "NOT_FOUND", "resource not found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSpace(r.Header.Get("X-Access-Token")) == "" {
			fenixError(w, http.StatusUnauthorized, "UNAUTHORIZED", "missing X-Access-Token")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// fenixError is Fenix's error answer.
func fenixError(w http.ResponseWriter, code int, identifier, description string) {
	writeJSON(w, code, map[string]string{"identifier": identifier, "description": description})
}

func (s *fenixSandbox) create(w http.ResponseWriter, r *http.Request) {
	var reg fenixRegistration
	if err := readJSON(w, r, &reg); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			fenixError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", err.Error())
		} else {
			fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", err.Error())
		}
		return
	}
	if msg := reg.check(s.fenix.Tables["shipment"].Rank); msg != "" {
		fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", msg)
		return
	}
	h := &fenixWebhook{ID: newID(), Status: "ACTIVE", fenixRegistration: reg, CreatedAt: time.Now().UTC()}
	s.mu.Lock()
	if len(s.webhooks) >= MaxSandboxWebhooks {
		s.mu.Unlock()
		fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", "webhook limit reached")
		return
	}
	s.seq++
	h.seq = s.seq
	s.webhooks[h.ID] = h
	out := *h
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *fenixSandbox) list(w http.ResponseWriter, r *http.Request) {
	store := r.URL.Query().Get("store_name")
	s.mu.Lock()
	list := []fenixWebhook{}
	for _, h := range s.webhooks {
		if store == "" || h.StoreName == store {
			list = append(list, *h)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b fenixWebhook) int { return a.seq - b.seq })
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
}

// find returns a copy of the webhook the request names, or answers 404.
func (s *fenixSandbox) find(w http.ResponseWriter, r *http.Request) (fenixWebhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[r.PathValue("webhookId")]
	if !ok {
		fenixError(w, http.StatusNotFound, "NOT_FOUND", "webhook not found")
		return fenixWebhook{}, false
	}
	return *h, true
}

func (s *fenixSandbox) get(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.find(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"webhook": h})
	}
}

func (s *fenixSandbox) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, ok := s.webhooks[r.PathValue("webhookId")]
	delete(s.webhooks, r.PathValue("webhookId"))
	s.mu.Unlock()
	if !ok {
		fenixError(w, http.StatusNotFound, "NOT_FOUND", "webhook not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// setStatus is sandbox only: it sets the webhook's status, as Fenix does
// on its side (a webhook disabled after failed deliveries), so a test can
// break a registration and see it repaired.
func (s *fenixSandbox) setStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string `json:"status"`
	}
	if err := readJSON(w, r, &in); err != nil {
		fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", err.Error())
		return
	}
	if !slices.Contains(fenixStatuses, in.Status) {
		fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", "status must be one of "+strings.Join(fenixStatuses, ", "))
		return
	}
	s.mu.Lock()
	h, ok := s.webhooks[r.PathValue("webhookId")]
	var out fenixWebhook
	if ok {
		h.Status = in.Status
		out = *h
	}
	s.mu.Unlock()
	if !ok {
		fenixError(w, http.StatusNotFound, "NOT_FOUND", "webhook not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": out})
}

// lifecycle sends the webhook's address one shipment's forward lifecycle
// (the provider sample's), each a signed tracking/updated delivery from
// the webhook's store, and answers how many were sent and accepted. The
// body may name the shipment: {"tracking_number":"…"}. A webhook that is
// not ACTIVE is sent nothing, as Fenix would not deliver to it.
func (s *fenixSandbox) lifecycle(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TrackingNumber string `json:"tracking_number"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(w, r, &in); err != nil {
			fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", err.Error())
			return
		}
	}
	if len(in.TrackingNumber) > maxSandboxField {
		fenixError(w, http.StatusBadRequest, "INVALID_PARAMETERS", "tracking_number is too long")
		return
	}
	if in.TrackingNumber == "" {
		in.TrackingNumber = "sandbox-" + newID()
	}
	s.mu.Lock()
	h, ok := s.webhooks[r.PathValue("webhookId")]
	var hook fenixWebhook
	if ok {
		hook = *h
	}
	s.mu.Unlock()
	if !ok {
		fenixError(w, http.StatusNotFound, "NOT_FOUND", "webhook not found")
		return
	}
	sample, settings := s.fenix.Sample, s.opts.settings()
	secret := s.fenix.SendSecret(settings)
	sent, succeeded := 0, 0
	for _, status := range sample.Lifecycle {
		if hook.Status != "ACTIVE" {
			break
		}
		d := providers.Delivery{Entity: in.TrackingNumber, Status: status, EventID: newID(), WebhookID: hook.ID, Tenant: hook.StoreName}
		body := sample.Body(d)
		sent++
		if deliver(r.Context(), s.opts.client(), hook.Address, body, sample.Headers(d, body, secret, settings)) {
			succeeded++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": hook.ID, "tracking_number": in.TrackingNumber, "sent": sent, "succeeded": succeeded, "failed": sent - succeeded,
	})
}
