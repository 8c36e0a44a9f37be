package devtools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/hookflow/hookflow/providers"
)

// Where `hookflow dev` serves its stand-ins for the providers' webhook
// registration APIs (contract section 18), beside the Phoenix sandbox.
const (
	UP42SandboxPrefix  = "/sandbox/up42"
	FenixSandboxPrefix = "/sandbox/fenix"
)

// Bounds of what the registration stand-ins hold from outside input.
const (
	// MaxSandboxWebhooks is how many webhooks one stand-in holds; a
	// registration past it is refused.
	MaxSandboxWebhooks = 1000
	// maxSandboxBody is the largest request body a stand-in reads; a
	// larger one is answered 413.
	maxSandboxBody = 64 << 10
	// maxSandboxField bounds each string field of a registration.
	maxSandboxField = 2048
	// maxSandboxList bounds each list of a registration (events, filters,
	// statuses).
	maxSandboxList = 50
	// sandboxDeliveryTimeout bounds one webhook the stand-ins send.
	sandboxDeliveryTimeout = 10 * time.Second
)

// SandboxOptions are what the registration stand-ins send webhooks with.
type SandboxOptions struct {
	// HTTP delivers the webhooks; a client with sandboxDeliveryTimeout
	// when nil.
	HTTP *http.Client
	// Settings are the providers' settings (UP42's signature header and
	// encoding, Fenix's client secret); the providers' defaults and
	// development secrets when nil.
	Settings providers.Settings
}

func (o SandboxOptions) client() *http.Client {
	if o.HTTP != nil {
		return o.HTTP
	}
	return &http.Client{Timeout: sandboxDeliveryTimeout}
}

func (o SandboxOptions) settings() providers.Settings {
	if o.Settings != nil {
		return o.Settings
	}
	return func(env string) string {
		for _, p := range providers.Builtins() {
			for _, s := range p.Settings() {
				if s.Env == env {
					return s.Default
				}
			}
		}
		return ""
	}
}

// MountRegistrationSandboxes serves new, empty UP42 and Fenix registration
// stand-ins on app under UP42SandboxPrefix and FenixSandboxPrefix.
func MountRegistrationSandboxes(app *fiber.App, opts SandboxOptions) {
	app.Use(UP42SandboxPrefix, adaptor.HTTPHandler(http.StripPrefix(UP42SandboxPrefix, NewUP42Sandbox(opts))))
	app.Use(FenixSandboxPrefix, adaptor.HTTPHandler(http.StripPrefix(FenixSandboxPrefix, NewFenixSandbox(opts))))
}

// errBodyTooLarge is returned by readJSON for a body past maxSandboxBody.
var errBodyTooLarge = errors.New("request body too large")

// readJSON decodes r's body, at most maxSandboxBody bytes, into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSandboxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body is not the expected JSON: %w", err)
	}
	return nil
}

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", providers.JSONType)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// deliver posts one signed sample delivery to target and says whether it
// was answered 2xx.
func deliver(ctx context.Context, hc *http.Client, target string, body []byte, headers map[string]string) bool {
	ctx, cancel := context.WithTimeout(ctx, sandboxDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false
	}
	providers.SetHeaders(req, headers)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSandboxBody))
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

// checkURL says what is wrong with a webhook's target URL, or "".
func checkURL(raw string) string {
	if len(raw) > maxSandboxField {
		return "is too long"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	return ""
}

// newID is a random (version 4) UUID, the form of both providers' IDs.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// provider is the built-in provider named name: the sample and signing the
// stand-ins send with are the providers' own.
func provider(name string) providers.Provider {
	for _, p := range providers.Builtins() {
		if p.Name == name {
			return p
		}
	}
	panic("devtools: no built-in provider " + name)
}
