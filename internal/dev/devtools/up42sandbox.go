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

// up42Events are the webhook events UP42 lists and a webhook may name.
var up42Events = []string{"job.status", providers.UP42OrderStatus}

// up42Webhook is one registered UP42 webhook. Its secret is kept but never
// answered, as UP42 does.
type up42Webhook struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	secret      string
	seq         int // creation order, for the list
}

// up42Input is the body of a create or an update.
type up42Input struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
	Active *bool    `json:"active"` // true when absent
}

// check says what is wrong with in, or "".
func (in up42Input) check() string {
	var bad []string
	if in.Name == "" || len(in.Name) > maxSandboxField {
		bad = append(bad, "name must be 1 to 2048 characters")
	}
	if msg := checkURL(in.URL); msg != "" {
		bad = append(bad, "url "+msg)
	}
	if len(in.Events) == 0 || len(in.Events) > maxSandboxList {
		bad = append(bad, "events must name 1 to 50 events")
	}
	for _, e := range in.Events {
		if !slices.Contains(up42Events, e) {
			bad = append(bad, fmt.Sprintf("unknown event %q", truncate(e)))
			break
		}
	}
	if len(in.Secret) > maxSandboxField {
		bad = append(bad, "secret is too long")
	}
	return strings.Join(bad, "; ")
}

// up42Sandbox is an in-memory UP42 webhooks API: UP42's routes, answers
// wrapped as {"data":…,"error":null}, and a test that sends a signed
// order.status delivery, as providers.UP42 samples and signs it, to the
// webhook's URL.
type up42Sandbox struct {
	opts SandboxOptions
	up42 providers.Provider

	mu       sync.Mutex
	webhooks map[string]*up42Webhook
	seq      int
}

// NewUP42Sandbox returns an empty UP42 webhooks API, its routes relative to
// the API's root (GET /webhooks/events, /workspaces/{workspaceId}/webhooks…).
// Every request needs a bearer token; any token is accepted.
func NewUP42Sandbox(opts SandboxOptions) http.Handler {
	s := &up42Sandbox{opts: opts, up42: provider("up42"), webhooks: map[string]*up42Webhook{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhooks/events", s.events)
	mux.HandleFunc("POST /workspaces/{workspaceId}/webhooks", s.create)
	mux.HandleFunc("GET /workspaces/{workspaceId}/webhooks", s.list)
	mux.HandleFunc("GET /workspaces/{workspaceId}/webhooks/{webhookId}", s.get)
	mux.HandleFunc("PUT /workspaces/{workspaceId}/webhooks/{webhookId}", s.update)
	mux.HandleFunc("DELETE /workspaces/{workspaceId}/webhooks/{webhookId}", s.delete)
	mux.HandleFunc("POST /workspaces/{workspaceId}/webhooks/{webhookId}/tests", s.test)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		up42Answer(w, http.StatusNotFound, nil, "resource not found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			up42Answer(w, http.StatusUnauthorized, nil, "missing bearer token")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// up42Answer is the one place the stand-in writes an answer: data, or an
// error with UP42's code and message when msg is set.
func up42Answer(w http.ResponseWriter, code int, data any, msg string) {
	var e any
	if msg != "" {
		e = map[string]any{"code": code, "message": msg, "details": nil}
	}
	writeJSON(w, code, map[string]any{"data": data, "error": e})
}

func (s *up42Sandbox) events(w http.ResponseWriter, _ *http.Request) {
	list := make([]map[string]string, 0, len(up42Events))
	for _, e := range up42Events {
		list = append(list, map[string]string{"name": e})
	}
	up42Answer(w, http.StatusOK, list, "")
}

// read decodes and checks a create or update body, answering its error.
func (s *up42Sandbox) read(w http.ResponseWriter, r *http.Request) (up42Input, bool) {
	var in up42Input
	if err := readJSON(w, r, &in); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			up42Answer(w, http.StatusRequestEntityTooLarge, nil, err.Error())
		} else {
			up42Answer(w, http.StatusBadRequest, nil, err.Error())
		}
		return in, false
	}
	if msg := in.check(); msg != "" {
		up42Answer(w, http.StatusBadRequest, nil, msg)
		return in, false
	}
	return in, true
}

// apply sets in's fields on h.
func (in up42Input) apply(h *up42Webhook, now time.Time) {
	h.Name, h.URL, h.Events, h.secret = in.Name, in.URL, slices.Clone(in.Events), in.Secret
	h.Active = in.Active == nil || *in.Active
	h.UpdatedAt = now
}

func (s *up42Sandbox) create(w http.ResponseWriter, r *http.Request) {
	in, ok := s.read(w, r)
	if !ok {
		return
	}
	now := time.Now().UTC()
	h := &up42Webhook{ID: newID(), WorkspaceID: r.PathValue("workspaceId"), CreatedAt: now}
	in.apply(h, now)
	s.mu.Lock()
	if len(s.webhooks) >= MaxSandboxWebhooks {
		s.mu.Unlock()
		up42Answer(w, http.StatusBadRequest, nil, "webhook limit reached")
		return
	}
	s.seq++
	h.seq = s.seq
	s.webhooks[h.ID] = h
	out := *h
	s.mu.Unlock()
	up42Answer(w, http.StatusCreated, out, "")
}

func (s *up42Sandbox) list(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("workspaceId")
	s.mu.Lock()
	list := []up42Webhook{}
	for _, h := range s.webhooks {
		if h.WorkspaceID == ws {
			list = append(list, *h)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b up42Webhook) int { return a.seq - b.seq })
	up42Answer(w, http.StatusOK, list, "")
}

// find returns a copy of the workspace's webhook the request names, or
// answers 404.
func (s *up42Sandbox) find(w http.ResponseWriter, r *http.Request) (up42Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[r.PathValue("webhookId")]
	if !ok || h.WorkspaceID != r.PathValue("workspaceId") {
		up42Answer(w, http.StatusNotFound, nil, "webhook not found")
		return up42Webhook{}, false
	}
	return *h, true
}

func (s *up42Sandbox) get(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.find(w, r); ok {
		up42Answer(w, http.StatusOK, h, "")
	}
}

func (s *up42Sandbox) update(w http.ResponseWriter, r *http.Request) {
	in, ok := s.read(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	h, ok := s.webhooks[r.PathValue("webhookId")]
	if !ok || h.WorkspaceID != r.PathValue("workspaceId") {
		s.mu.Unlock()
		up42Answer(w, http.StatusNotFound, nil, "webhook not found")
		return
	}
	in.apply(h, time.Now().UTC())
	out := *h
	s.mu.Unlock()
	up42Answer(w, http.StatusOK, out, "")
}

func (s *up42Sandbox) delete(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.find(w, r); !ok {
		return
	}
	s.mu.Lock()
	delete(s.webhooks, r.PathValue("webhookId"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// test sends the webhook one signed order.status delivery, built and signed
// by providers.UP42's sample with the webhook's secret (unsigned when it
// has none, as UP42 sends then), and answers how it went.
func (s *up42Sandbox) test(w http.ResponseWriter, r *http.Request) {
	h, ok := s.find(w, r)
	if !ok {
		return
	}
	sample := s.up42.Sample
	d := providers.Delivery{Entity: "sandbox-test-order", Status: sample.Status, EventID: newID()}
	body := sample.Body(d)
	headers := map[string]string{"Content-Type": providers.JSONType}
	if h.secret != "" {
		headers = sample.Headers(d, body, h.secret, s.opts.settings())
	}
	succeeded := 0
	if deliver(r.Context(), s.opts.client(), h.URL, body, headers) {
		succeeded = 1
	}
	up42Answer(w, http.StatusOK, map[string]int{"testsRun": 1, "testsSucceeded": succeeded, "testsFailed": 1 - succeeded}, "")
}

// truncate shortens an echoed input value.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
