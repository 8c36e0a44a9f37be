package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/providers/yamlnode"
	"github.com/hookflow/hookflow/signature"
)

// Spec is a provider defined in configuration, under `providers:` in the
// YAML file (contract section 12): a route, an authentication preset, where
// the fields are, and the entity's ranked states.
type Spec struct {
	Name        string     `yaml:"name"`        // [a-z0-9-]+, not a built-in name
	Route       string     `yaml:"route"`       // POST path
	EntityType  string     `yaml:"entity_type"` // [a-z0-9_]+: the workflow ID is <name>-<entity_type>:<entity_id>
	Doc         string     `yaml:"doc"`         // optional line of documentation
	Auth        AuthSpec   `yaml:"auth"`
	Fields      FieldsSpec `yaml:"fields"`
	AcceptTypes []string   `yaml:"accept_types"` // optional: other types are answered 200 ignored
	States      [][]string `yaml:"states"`       // ranked, earliest first; several in one rank are siblings
	Terminal    []string   `yaml:"terminal"`
	Anytime     []string   `yaml:"anytime"` // optional: reachable at any point, resumed from
	// Overdue are optional per-status deadlines ({shipped: 5d}), past which
	// an entity still in that status is flagged overdue.
	Overdue map[string]string `yaml:"overdue"`
	// API is the optional API the entity's status is read from (api.go).
	API *APISpec `yaml:"api"`
	// TenantHeader optionally names the request header that says which
	// tenant a delivery is for, when tenants are configured (contract
	// section 17).
	TenantHeader string `yaml:"tenant_header"`
}

// AuthSpec is a configured provider's authentication preset.
type AuthSpec struct {
	Scheme    string `yaml:"scheme"`     // bearer, header, hmac or standard-webhooks
	Header    string `yaml:"header"`     // header and hmac: where the secret or signature is
	Encoding  string `yaml:"encoding"`   // hmac: hex (default) or base64
	Prefix    string `yaml:"prefix"`     // hmac: optional, before the signature ("sha256=")
	SecretEnv string `yaml:"secret_env"` // the environment variable holding the secret(s)
	Tolerance string `yaml:"tolerance"`  // standard-webhooks: webhook-timestamp window, default 5m
}

// FieldsSpec says where a configured provider's event fields are: a dotted
// path into the JSON body (data.order.id) or header:<Name>.
type FieldsSpec struct {
	EntityID string `yaml:"entity_id"`
	Status   string `yaml:"status"`
	EventID  string `yaml:"event_id"` // standard-webhooks: header:webhook-id when empty
	Time     string `yaml:"time"`
	Type     string `yaml:"type"` // optional
}

// The authentication presets of configured providers.
const (
	SchemeBearer           = "bearer"
	SchemeHeader           = "header"
	SchemeHMAC             = "hmac"
	SchemeStandardWebhooks = "standard-webhooks"
)

var schemes = []string{SchemeBearer, SchemeHeader, SchemeHMAC, SchemeStandardWebhooks}

// The keys a configured provider may have, by section; anything else is a
// mistake worth naming.
var specKeys = map[string][]string{
	"":         {"name", "route", "entity_type", "doc", "auth", "fields", "accept_types", "states", "terminal", "anytime", "overdue", "api", "tenant_header"},
	"api":      {"url", "status", "auth"},
	"api.auth": {"header", "prefix", "secret_env"},
	"auth":     {"scheme", "header", "encoding", "prefix", "secret_env", "tolerance"},
	"fields":   {"entity_id", "status", "event_id", "time", "type"},
}

var (
	nameRE       = regexp.MustCompile(`^[a-z0-9-]+$`)
	entityTypeRE = regexp.MustCompile(`^[a-z0-9_]+$`)
	routeRE      = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
	envRE        = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// specErrors collects a provider's configuration errors, each naming the
// provider and the key: providers[acme].auth.scheme: must be ….
type specErrors struct {
	label string
	errs  []error
}

func (e *specErrors) add(key, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("providers[%s].%s: "+format, append([]any{e.label, key}, args...)...))
}

// DecodeSpecs reads the `providers:` list of a YAML configuration. It
// refuses keys a provider does not have, naming the provider and the key.
func DecodeSpecs(node *yaml.Node) ([]Spec, error) {
	if node.Kind != yaml.SequenceNode {
		return nil, errors.New("providers: must be a list of providers")
	}
	var specs []Spec
	var errs []error
	for i, item := range node.Content {
		label := strconv.Itoa(i)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("providers[%s]: must be a mapping (name: …, route: …)", label))
			continue
		}
		if name := yamlnode.Get(item, "name"); name != nil && name.Kind == yaml.ScalarNode && name.Value != "" {
			label = name.Value
		}
		errs = append(errs, unknownKeys(label, "", item)...)
		for _, section := range []string{"auth", "fields", "api"} {
			if n := yamlnode.Get(item, section); n != nil && n.Kind == yaml.MappingNode {
				errs = append(errs, unknownKeys(label, section, n)...)
			}
		}
		if api := yamlnode.Get(item, "api"); api != nil && api.Kind == yaml.MappingNode {
			if n := yamlnode.Get(api, "auth"); n != nil && n.Kind == yaml.MappingNode {
				errs = append(errs, unknownKeys(label, "api.auth", n)...)
			}
		}
		var s Spec
		if err := item.Decode(&s); err != nil {
			errs = append(errs, fmt.Errorf("providers[%s]: %w", label, err))
			continue
		}
		specs = append(specs, s)
	}
	return specs, errors.Join(errs...)
}

func unknownKeys(label, section string, m *yaml.Node) []error {
	where := "providers[" + label + "]"
	if section != "" {
		where += "." + section
	}
	return yamlnode.UnknownKeys(where, m, specKeys[section])
}

// FromSpecs builds the providers specs define. Its error lists every
// problem, each naming the provider and the key.
func FromSpecs(specs []Spec) ([]Provider, error) {
	taken := map[string]string{} // route → provider
	names := map[string]bool{}
	for _, p := range Builtins() {
		names[p.Name] = true
		for _, r := range p.Routes {
			taken[r] = p.Name
		}
	}
	var out []Provider
	var errs []error
	for i, s := range specs {
		e := &specErrors{label: s.Name}
		if e.label == "" {
			e.label = strconv.Itoa(i)
		}
		switch {
		case s.Name == "":
			e.add("name", "is required")
		case !nameRE.MatchString(s.Name):
			e.add("name", "must be lower-case letters, digits and hyphens ([a-z0-9-]+)")
		case names[s.Name] && slices.Contains(builtinNames(), s.Name):
			e.add("name", "%s is a built-in provider", s.Name)
		case names[s.Name]:
			e.add("name", "%s is defined twice", s.Name)
		}
		names[s.Name] = true
		switch {
		case s.Route == "":
			e.add("route", "is required")
		case !routeRE.MatchString(s.Route):
			e.add("route", "must be a path like /webhooks/%s", cmpOr(s.Name, "acme"))
		case taken[s.Route] != "":
			e.add("route", "%s is already the route of %s", s.Route, taken[s.Route])
		default:
			taken[s.Route] = cmpOr(s.Name, e.label)
		}
		switch {
		case s.EntityType == "":
			e.add("entity_type", "is required")
		case !entityTypeRE.MatchString(s.EntityType):
			e.add("entity_type", "must be lower-case letters, digits and underscores ([a-z0-9_]+)")
		}
		if s.TenantHeader != "" && !signature.IsHeaderName(s.TenantHeader) {
			e.add("tenant_header", "must be a header name, like X-Acme-Store")
		}
		c := checkAuth(e, s.Auth)
		fields := checkFields(e, s)
		table := checkStates(e, s)
		api := checkAPI(e, s.API)
		if len(e.errs) > 0 {
			errs = append(errs, e.errs...)
			continue
		}
		table.API = api != nil
		p := build(s, c, fields, table)
		if p.API = api; api != nil && api.SecretEnv != "" {
			p.Options = append(p.Options, apiSetting(s.Name, api))
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

func builtinNames() []string {
	var names []string
	for _, p := range Builtins() {
		names = append(names, p.Name)
	}
	return names
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// auth is a checked AuthSpec.
type auth struct {
	AuthSpec
	encoding  signature.Encoding
	tolerance time.Duration
}

func checkAuth(e *specErrors, a AuthSpec) auth {
	c := auth{AuthSpec: a}
	if !slices.Contains(schemes, a.Scheme) {
		e.add("auth.scheme", "must be one of %s", strings.Join(schemes, ", "))
	}
	needsHeader := a.Scheme == SchemeHeader || a.Scheme == SchemeHMAC
	switch {
	case needsHeader && a.Header == "":
		e.add("auth.header", "is required with scheme %s", a.Scheme)
	case needsHeader && !signature.IsHeaderName(a.Header):
		e.add("auth.header", "must be a header name")
	case !needsHeader && a.Header != "":
		e.add("auth.header", "is only for schemes header and hmac")
	}
	switch {
	case a.Scheme != SchemeHMAC && (a.Encoding != "" || a.Prefix != ""):
		key := "auth.encoding"
		if a.Encoding == "" {
			key = "auth.prefix"
		}
		e.add(key, "is only for scheme hmac")
	case a.Scheme == SchemeHMAC && a.Encoding != "":
		enc, err := signature.ParseEncoding(a.Encoding)
		if err != nil {
			e.add("auth.encoding", "must be hex or base64")
		}
		c.encoding = enc
	}
	switch {
	case a.SecretEnv == "":
		e.add("auth.secret_env", "is required: the environment variable holding the secret(s)")
	case !envRE.MatchString(a.SecretEnv):
		// Never repeat the value: it may be a secret written in the wrong place.
		e.add("auth.secret_env", "must name an environment variable (A-Z, 0-9, _), not hold the secret itself")
	}
	switch {
	case a.Scheme != SchemeStandardWebhooks && a.Tolerance != "":
		e.add("auth.tolerance", "is only for scheme standard-webhooks")
	case a.Tolerance != "":
		d, err := time.ParseDuration(a.Tolerance)
		if err != nil || d <= 0 {
			e.add("auth.tolerance", "must be a positive duration like 5m, not %q", a.Tolerance)
		}
		c.tolerance = d
	}
	return c
}

// field is where one event field is: a header, or a path into the body.
type field struct {
	spec   string   // as configured, for the 400's required list
	header string   // header name, or ""
	path   []string // body path segments
}

func parseField(spec string) (field, bool) {
	if name, ok := strings.CutPrefix(spec, "header:"); ok {
		return field{spec: spec, header: name}, signature.IsHeaderName(name)
	}
	segs := strings.Split(spec, ".")
	for _, s := range segs {
		if s == "" {
			return field{}, false
		}
	}
	return field{spec: spec, path: segs}, true
}

// lookup returns the field's value: a header, or a JSON string or number
// in the body. Anything else (absent, empty, an object) is missing.
func (f field) lookup(doc map[string]any, h signature.Header) (string, bool) {
	if f.header != "" {
		v := h(f.header)
		return v, v != ""
	}
	cur, _ := event.PathValue(doc, f.path)
	switch v := cur.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// fields is a configured provider's checked FieldsSpec; typ is empty when
// the provider has no event types.
type fields struct {
	entityID, status, eventID, time field
	typ                             *field
}

// required lists every field an event must have, as configured.
func (f fields) required() []string {
	r := []string{f.entityID.spec, f.status.spec, f.eventID.spec, f.time.spec}
	if f.typ != nil {
		r = append(r, f.typ.spec)
	}
	return r
}

func checkFields(e *specErrors, s Spec) fields {
	var out fields
	eventID := s.Fields.EventID
	if eventID == "" && s.Auth.Scheme == SchemeStandardWebhooks {
		eventID = "header:" + signature.StandardID
	}
	for _, f := range []struct {
		key, spec string
		to        *field
	}{
		{"fields.entity_id", s.Fields.EntityID, &out.entityID},
		{"fields.status", s.Fields.Status, &out.status},
		{"fields.event_id", eventID, &out.eventID},
		{"fields.time", s.Fields.Time, &out.time},
	} {
		parsed, ok := parseField(f.spec)
		switch {
		case f.spec == "":
			e.add(f.key, "is required: a dotted path into the body (data.order.id) or header:<Name>")
		case !ok:
			e.add(f.key, "must be a dotted path into the body (data.order.id) or header:<Name>, not %q", f.spec)
		}
		*f.to = parsed
	}
	if s.Fields.Type != "" {
		parsed, ok := parseField(s.Fields.Type)
		if !ok {
			e.add("fields.type", "must be a dotted path into the body or header:<Name>, not %q", s.Fields.Type)
		}
		out.typ = &parsed
	}
	if len(s.AcceptTypes) > 0 && s.Fields.Type == "" {
		e.add("accept_types", "needs fields.type: where the event's type is")
	}
	for _, t := range s.AcceptTypes {
		if t == "" {
			e.add("accept_types", "must not hold an empty type")
		}
	}
	return out
}

func checkStates(e *specErrors, s Spec) lifecycle.Table {
	seen := map[string]bool{}
	if len(s.States) == 0 {
		e.add("states", "is required: the ranked statuses, earliest first")
	}
	for i, rank := range s.States {
		if len(rank) == 0 {
			e.add(fmt.Sprintf("states[%d]", i), "must list at least one status")
		}
		for _, st := range rank {
			switch {
			case st == "":
				e.add(fmt.Sprintf("states[%d]", i), "must not hold an empty status")
			case seen[st]:
				e.add(fmt.Sprintf("states[%d]", i), "%s is ranked twice", st)
			}
			seen[st] = true
		}
	}
	if len(s.Terminal) == 0 {
		e.add("terminal", "is required: the statuses that end an entity's life")
	}
	for _, st := range s.Terminal {
		if !seen[st] {
			e.add("terminal", "%s is not in states", st)
		}
	}
	for _, st := range s.Anytime {
		switch {
		case st == "":
			e.add("anytime", "must not hold an empty status")
		case seen[st]:
			e.add("anytime", "%s is also in states or listed twice: an anytime status has no rank", st)
		}
		seen[st] = true
	}
	return lifecycle.Ranked(s.States, s.Terminal, s.Anytime)
}

// configured is a provider built from a Spec.
type configured struct {
	Spec
	auth   auth
	fields fields
}

func build(s Spec, a auth, f fields, table lifecycle.Table) Provider {
	c := configured{Spec: s, auth: a, fields: f}
	p := Provider{
		Name:   s.Name,
		Doc:    cmpOr(s.Doc, fmt.Sprintf("configured: %s %s entities, %s authentication", s.Name, s.EntityType, a.Scheme)),
		Routes: []string{s.Route},
		Secret: Setting{Env: a.SecretEnv, Usage: "secret(s) of the configured provider " + s.Name + ", comma-separated"},
		NewVerifier: func(secrets []string, _ Settings) (signature.Verifier, error) {
			return c.verifier(secrets)
		},
		DevSecret:     "dev-" + s.Name + "-secret",
		TenantHeader:  s.TenantHeader,
		Parse:         c.parse,
		EntityIDField: f.entityID.spec,
		EventIDField:  f.eventID.spec,
		// An event ID from a header is outside the signature, but for
		// Standard Webhooks' webhook-id, which it signs.
		UnsignedEventID: f.eventID.header != "" && !(a.Scheme == SchemeStandardWebhooks && strings.EqualFold(f.eventID.header, signature.StandardID)),
		Tables:          map[string]lifecycle.Table{s.EntityType: table},
		Sample:          c.sample(),
	}
	if a.Scheme == SchemeStandardWebhooks {
		p.DevSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(p.DevSecret))
		p.Secret.Check = func(secret string) error {
			_, err := signature.StandardKey(secret)
			return err
		}
	}
	return p
}

func (c configured) verifier(secrets []string) (signature.Verifier, error) {
	switch c.auth.Scheme {
	case SchemeBearer:
		return signature.NewBearer(secrets), nil
	case SchemeHeader:
		return signature.NewSharedSecret(c.auth.Header, secrets), nil
	case SchemeHMAC:
		return signature.NewHMAC(c.auth.Header, c.auth.encoding, c.auth.Prefix, secrets), nil
	case SchemeStandardWebhooks:
		return signature.NewStandardWebhooks(secrets, c.auth.tolerance)
	}
	return nil, fmt.Errorf("unknown scheme %q", c.auth.Scheme) // FromSpecs refuses it first
}

// parse reads the configured fields. Types not accepted are ignored before
// the other fields are looked at, as built-in providers do.
func (c configured) parse(body []byte, h signature.Header) (event.Event, error) {
	doc, err := decodeObject(body)
	if err != nil {
		return event.Event{}, err
	}
	missing := &MissingFieldsError{Required: c.fields.required()}
	var typ string
	if c.fields.typ != nil {
		var ok bool
		if typ, ok = c.fields.typ.lookup(doc, h); !ok {
			return event.Event{}, missing
		}
		if len(c.AcceptTypes) > 0 && !slices.Contains(c.AcceptTypes, typ) {
			return event.Event{Type: typ}, ErrIgnored
		}
	}
	entityID, ok1 := c.fields.entityID.lookup(doc, h)
	status, ok2 := c.fields.status.lookup(doc, h)
	eventID, ok3 := c.fields.eventID.lookup(doc, h)
	when, ok4 := c.fields.time.lookup(doc, h)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return event.Event{}, missing
	}
	return event.Event{
		ID: eventID, Type: typ, EntityType: c.EntityType, EntityID: entityID, Status: status, ProviderTime: when,
	}, nil
}

// decodeObject reads a JSON object, keeping numbers as written.
func decodeObject(body []byte) (map[string]any, error) {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, ErrInvalidJSON
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, ErrInvalidJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrInvalidJSON // something after the object
	}
	return doc, nil
}

// sample builds deliveries from the configured fields: body paths get
// their values in a JSON object, header fields their headers, and the
// preset signs it.
func (c configured) sample() Sample {
	var all []string
	for _, rank := range c.States {
		all = append(all, rank...)
	}
	all = append(all, c.Anytime...)
	return Sample{
		Entity:    c.EntityType + "-1",
		Status:    c.States[0][0],
		Statuses:  strings.Join(all, "|"),
		Lifecycle: forwardPath(c.States, c.Terminal),
		Body:      c.sampleBody,
		Headers:   c.sampleHeaders,
	}
}

// forwardPath is one status of each rank, in order, up to the first rank
// with a terminal status, and that terminal status.
func forwardPath(states [][]string, terminal []string) []string {
	var path []string
	for _, rank := range states {
		for _, st := range rank {
			if slices.Contains(terminal, st) {
				return append(path, st)
			}
		}
		path = append(path, rank[0])
	}
	return path
}

// sampleType is the event type samples carry: the first accepted one.
func (c configured) sampleType() string {
	if len(c.AcceptTypes) > 0 {
		return c.AcceptTypes[0]
	}
	return c.EntityType + ".updated"
}

// fieldValue is one field of a sample delivery and its value.
type fieldValue struct {
	f     field
	value string
}

// values are a delivery's field values.
func (c configured) values(d Delivery, now time.Time) []fieldValue {
	when := now.UTC().Format(time.RFC3339)
	if c.fields.time.header == signature.StandardTimestamp {
		when = strconv.FormatInt(now.Unix(), 10)
	}
	out := []fieldValue{
		{c.fields.entityID, d.Entity}, {c.fields.status, d.Status}, {c.fields.eventID, d.EventID}, {c.fields.time, when},
	}
	if c.fields.typ != nil {
		out = append(out, fieldValue{*c.fields.typ, c.sampleType()})
	}
	return out
}

func (c configured) sampleBody(d Delivery) []byte {
	doc := map[string]any{}
	for _, v := range c.values(d, time.Now()) {
		if v.f.header != "" {
			continue
		}
		m := doc
		for _, seg := range v.f.path[:len(v.f.path)-1] {
			next, ok := m[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[seg] = next
			}
			m = next
		}
		m[v.f.path[len(v.f.path)-1]] = v.value
	}
	return mustJSON(doc)
}

func (c configured) sampleHeaders(d Delivery, body []byte, secret string, _ Settings) map[string]string {
	now := time.Now()
	h := map[string]string{"Content-Type": JSONType}
	for _, v := range c.values(d, now) {
		if v.f.header != "" {
			h[v.f.header] = v.value
		}
	}
	switch c.auth.Scheme {
	case SchemeBearer:
		h["Authorization"] = "Bearer " + secret
	case SchemeHeader:
		h[c.auth.Header] = secret
	case SchemeHMAC:
		sig := signature.Sign([]byte(secret), body)
		enc := hex.EncodeToString(sig)
		if c.auth.encoding == signature.Base64 {
			enc = base64.StdEncoding.EncodeToString(sig)
		}
		h[c.auth.Header] = c.auth.Prefix + enc
	case SchemeStandardWebhooks:
		id := cmpOr(h[signature.StandardID], d.EventID)
		if id == "" {
			id = "msg_" + randomHex(12)
		}
		key, _ := signature.StandardKey(secret) // a bad secret signs with no key: the receiver refuses it
		h[signature.StandardID] = id
		h[signature.StandardTimestamp] = strconv.FormatInt(now.Unix(), 10)
		h[signature.StandardSignature] = signature.StandardSign(key, id, now.Unix(), body)
	}
	return h
}
