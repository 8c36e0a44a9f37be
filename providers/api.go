package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/hookflow/hookflow/signature"
)

// APISpec is a configured provider's API (contract section 13): where the
// entity's current status is read, webhook by webhook and on the reconcile
// schedule, as Phoenix's is.
type APISpec struct {
	URL    string      `yaml:"url"`    // with {entity_id}, path-escaped
	Status string      `yaml:"status"` // dotted path in the JSON answer
	Auth   APIAuthSpec `yaml:"auth"`   // optional
}

// APIAuthSpec is the credential the API is read with: header: prefix +
// the secret in secret_env.
type APIAuthSpec struct {
	Header    string `yaml:"header"`
	Prefix    string `yaml:"prefix"`
	SecretEnv string `yaml:"secret_env"`
}

// API is where a provider's entities' status is read: a configured
// provider's checked APISpec, or a built-in provider's own (Phoenix's).
type API struct {
	url    string
	status field
	// statusOf, for a built-in provider, finds the status in the answer
	// its own way; a configured provider's is at status.
	statusOf  func(body []byte) (string, bool)
	Header    string // empty: no credential
	Prefix    string
	SecretEnv string // the variable holding the secret
	// BaseSetting, for a built-in provider, names the setting holding the
	// API's base URL, which {base} in its URL stands for (see At).
	BaseSetting string
}

// At is the API with its base URL: {base} in its URL replaced by base,
// without a trailing slash.
func (a *API) At(base string) *API {
	at := *a
	at.url = strings.ReplaceAll(a.url, "{base}", strings.TrimRight(base, "/"))
	return &at
}

// URLFor is the URL the entity's status is read at.
func (a *API) URLFor(entityID string) string {
	return strings.ReplaceAll(a.url, "{entity_id}", url.PathEscape(entityID))
}

// StatusOf finds the status in an answer: a built-in provider's own way,
// or a JSON string or number at the configured path; false for anything
// else (not JSON, absent, an object).
func (a *API) StatusOf(body []byte) (string, bool) {
	if a.statusOf != nil {
		return a.statusOf(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return "", false
	}
	return a.status.lookup(doc, nil)
}

// checkAPI checks s, naming the key of each mistake; nil when s is nil.
func checkAPI(e *specErrors, s *APISpec) *API {
	if s == nil {
		return nil
	}
	a := &API{url: s.URL, Header: s.Auth.Header, Prefix: s.Auth.Prefix, SecretEnv: s.Auth.SecretEnv}
	u, err := url.Parse(strings.ReplaceAll(s.URL, "{entity_id}", "x"))
	switch {
	case s.URL == "":
		e.add("api.url", "is required: https://…/{entity_id}")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		e.add("api.url", "must be an http:// or https:// URL")
	case !strings.Contains(s.URL, "{entity_id}"):
		e.add("api.url", "must hold {entity_id}, where the entity's ID goes")
	}
	status, ok := parseField(s.Status)
	switch {
	case s.Status == "":
		e.add("api.status", "is required: the dotted path of the status in the answer (data.order.status)")
	case !ok || status.header != "":
		e.add("api.status", "must be a dotted path into the JSON answer, like data.order.status")
	}
	a.status = status
	switch auth := s.Auth; {
	case auth == (APIAuthSpec{}):
	case !signature.IsHeaderName(auth.Header):
		e.add("api.auth.header", "must be a header name, like Authorization")
	case !envRE.MatchString(auth.SecretEnv):
		e.add("api.auth.secret_env", "must name an environment variable ([A-Z_][A-Z0-9_]*)")
	}
	return a
}

// apiSetting is the setting holding the API's secret: required, since
// every read would be refused without it.
func apiSetting(provider string, a *API) Setting {
	return Setting{
		Env:   a.SecretEnv,
		Usage: "secret the configured provider " + provider + "'s API is read with (api.auth)",
		Check: func(v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("is not set: the %s provider's api.auth reads its API with it", provider)
			}
			return nil
		},
	}
}
