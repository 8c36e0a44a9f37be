package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/providers/yamlnode"
	"github.com/hookflow/hookflow/signature"
)

// Destination is one place applied transitions are delivered to over HTTP
// (contract section 14): its own URL, signing secrets, filter, rate and
// horizon. URLs, secrets and header values come only from environment
// variables, and print as counts.
type Destination struct {
	Name    string
	URL     Secrets // one URL (URLs can carry tokens)
	Secrets Secrets // whsec_ signing secrets; every one signs
	Filter  event.Filter
	// Rate is the most deliveries a second to this destination across all
	// workers; 0 is no limit.
	Rate float64
	// Horizon is how long a delivery is retried; 0 is HOOKFLOW_FORWARD_HORIZON.
	Horizon time.Duration
	Headers []Header // sent with every delivery
	// AllTenants is set by `tenants: all`: every tenant's transitions go
	// there, the default tenant's too (contract section 17). Otherwise a
	// destination is its owner's (a tenant that lists it under its
	// `destinations:`), or the default tenant's when no tenant owns it.
	AllTenants bool
}

// Header is a header a destination's deliveries carry, its value from the
// environment.
type Header struct {
	Name  string
	Value Secrets // one value
}

// AllTenants is the value of a destination's `tenants:` that delivers
// every tenant's transitions there.
const AllTenants = "all"

// DefaultDestination is the destination HOOKFLOW_FORWARD_URL defines; it
// takes everything.
const DefaultDestination = "default"

// HandlerDestination names the transition handler (contract section 11)
// among the destinations, in `redeliver --destination` and metrics.
const HandlerDestination = "handler"

// Destinations are the HTTP destinations: `default` from
// HOOKFLOW_FORWARD_URL (default-2, … for further comma-separated URLs),
// then the file's.
func (c *Config) Destinations() []Destination {
	var ds []Destination
	for i, u := range c.ForwardURLs {
		name := DefaultDestination
		if i > 0 {
			name = fmt.Sprintf("%s-%d", DefaultDestination, i+1)
		}
		ds = append(ds, Destination{Name: name, URL: Secrets{u}, Secrets: c.ForwardSecrets})
	}
	return append(ds, c.FileDestinations...)
}

// DestinationsFor are the HTTP destinations of tenant's transitions, ""
// the default tenant (contract section 17): those declared for all tenants
// (`tenants: all`, and HOOKFLOW_FORWARD_URL's, which are the deployment's
// own), and those the tenant owns; the default tenant owns every file
// destination no tenant lists. Without tenants that is every destination.
func (c *Config) DestinationsFor(tenant string) []Destination {
	owner := c.destinationOwners()
	var ds []Destination
	for i, d := range c.Destinations() {
		forwardURL := i < len(c.ForwardURLs) // the deployment's own, as the handler is
		if forwardURL || d.AllTenants || owner[d.Name] == tenant {
			ds = append(ds, d)
		}
	}
	return ds
}

// destinationOwners maps each destination a tenant lists to that tenant.
func (c *Config) destinationOwners() map[string]string {
	owner := map[string]string{}
	for _, t := range c.Tenants {
		for _, name := range t.Destinations {
			owner[name] = t.ID
		}
	}
	return owner
}

// validateTenantDestinations refuses a tenant's destination that does
// not exist, that another tenant lists too, or that is already every
// tenant's; and a filter naming a tenant that is not configured. Every
// error names the tenant or the destination.
func (c *Config) validateTenantDestinations() []error {
	var errs []error
	byName := map[string]Destination{} // the file's: HOOKFLOW_FORWARD_URL's are everyone's
	for _, d := range c.FileDestinations {
		byName[d.Name] = d
	}
	owner := map[string]string{}
	for i, t := range c.Tenants {
		for _, name := range t.Destinations {
			d, ok := byName[name]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("tenants[%d %q].destinations: %q is not one of the file's destinations: (HOOKFLOW_FORWARD_URL's are every tenant's)", i, t.ID, name))
			case d.AllTenants:
				errs = append(errs, fmt.Errorf("tenants[%d %q].destinations: %q is every tenant's already (tenants: all)", i, t.ID, name))
			case owner[name] != "" && owner[name] != t.ID:
				errs = append(errs, fmt.Errorf("tenants[%d %q].destinations: %q is tenant %q's; a destination has one owner (or tenants: all)", i, t.ID, name, owner[name]))
			}
			owner[name] = t.ID
		}
	}
	known := map[string]bool{}
	for _, t := range c.Tenants {
		known[t.ID] = true
	}
	for _, d := range c.FileDestinations {
		for _, t := range d.Filter.Tenants {
			if !known[t] {
				errs = append(errs, fmt.Errorf("destinations[%s].filter: tenants: %q is not a configured tenant", d.Name, t))
			}
		}
	}
	for _, t := range c.HandlerFilter.Tenants {
		if !known[t] {
			errs = append(errs, fmt.Errorf("handler.filter: tenants: %q is not a configured tenant", t))
		}
	}
	return errs
}

var destinationNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

var (
	destinationKeys = []string{"name", "url_env", "secret_env", "filter", "rate", "horizon", "headers_env", "tenants"}
	filterKeys      = []string{"providers", "entity_types", "to", "types", "tenants", "body"}
	handlerKeys     = []string{"task_queue", "activity", "filter"}
)

// decodeDestinations reads the file's `destinations:` list, taking URLs,
// secrets and header values from getenv. Every error names the destination
// and the key.
func decodeDestinations(node *yaml.Node, getenv func(string) string) ([]Destination, error) {
	if node.Kind != yaml.SequenceNode {
		return nil, errors.New("destinations: must be a list of destinations")
	}
	var out []Destination
	var errs []error
	names := map[string]bool{}
	for i, item := range node.Content {
		label := fmt.Sprint(i)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("destinations[%s]: must be a mapping (name: …, url_env: …)", label))
			continue
		}
		if n := yamlnode.Get(item, "name"); n != nil && n.Value != "" {
			label = n.Value
		}
		bad := func(key, format string, args ...any) {
			errs = append(errs, fmt.Errorf("destinations[%s].%s: "+format, append([]any{label, key}, args...)...))
		}
		errs = append(errs, yamlnode.UnknownKeys("destinations["+label+"]", item, destinationKeys)...)
		d := Destination{Name: scalar(item, "name")}
		switch {
		case d.Name == "":
			bad("name", "is required ([a-z0-9-]+)")
		case !destinationNameRE.MatchString(d.Name):
			bad("name", "must match [a-z0-9-]+, not %q", d.Name)
		case d.Name == DefaultDestination || strings.HasPrefix(d.Name, DefaultDestination+"-") || d.Name == HandlerDestination:
			bad("name", "%q is reserved (HOOKFLOW_FORWARD_URL's destinations and the handler)", d.Name)
		case names[d.Name]:
			bad("name", "%q is defined twice", d.Name)
		}
		names[d.Name] = true

		if env := scalar(item, "url_env"); env == "" {
			bad("url_env", "is required: the environment variable holding the URL")
		} else if u := strings.TrimSpace(getenv(env)); u == "" {
			bad("url_env", "%s is not set", env)
		} else if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("url_env", "%s must hold an http:// or https:// URL with a host", env)
		} else {
			d.URL = Secrets{u}
		}
		if env := scalar(item, "secret_env"); env == "" {
			bad("secret_env", "is required: the environment variable holding the whsec_ secret(s); deliveries are always signed")
		} else if d.Secrets = Secrets(providers.SplitSecrets(getenv(env))); len(d.Secrets) == 0 {
			bad("secret_env", "%s is not set", env)
		} else {
			for _, s := range d.Secrets {
				if _, err := signature.StandardKey(s); err != nil {
					bad("secret_env", "every secret in %s must be whsec_ followed by base64", env)
					break
				}
			}
		}
		if raw := scalar(item, "rate"); raw != "" {
			var err error
			if d.Rate, err = parseRate(raw); err != nil {
				bad("rate", "%s", err)
			}
		}
		if raw := scalar(item, "horizon"); raw != "" {
			if h, err := time.ParseDuration(raw); err != nil || h <= 0 {
				bad("horizon", "must be a positive duration (like 24h), not %q", raw)
			} else {
				d.Horizon = h
			}
		}
		if n := yamlnode.Get(item, "headers_env"); n != nil {
			hs, err := decodeHeaders(n, getenv)
			for _, e := range err {
				bad("headers_env", "%s", e)
			}
			d.Headers = hs
		}
		if n := yamlnode.Get(item, "tenants"); n != nil {
			if n.Kind != yaml.ScalarNode || n.Value != AllTenants {
				bad("tenants", "must be %q (every tenant's transitions); a tenant owns a destination by listing it under its destinations:", AllTenants)
			}
			d.AllTenants = true
		}
		if n := yamlnode.Get(item, "filter"); n != nil {
			f, err := decodeFilter(n)
			for _, e := range err {
				bad("filter", "%s", e)
			}
			d.Filter = f
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// decodeHeaders reads headers_env: {Header-Name: ENV_NAME}.
func decodeHeaders(n *yaml.Node, getenv func(string) string) ([]Header, []error) {
	if n.Kind != yaml.MappingNode {
		return nil, []error{errors.New("must map header names to environment variables")}
	}
	var hs []Header
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, env := n.Content[i].Value, n.Content[i+1].Value
		switch v := getenv(env); {
		case !signature.IsHeaderName(name):
			errs = append(errs, fmt.Errorf("%q is not a header name", name))
		case isDeliveryHeader(name):
			errs = append(errs, fmt.Errorf("%s is set by hookflow on every delivery", name))
		case env == "" || v == "":
			errs = append(errs, fmt.Errorf("%s: %s is not set", name, env))
		default:
			hs = append(hs, Header{Name: name, Value: Secrets{v}})
		}
	}
	return hs, errs
}

// isDeliveryHeader reports whether name is one hookflow sets itself.
func isDeliveryHeader(name string) bool {
	for _, h := range []string{signature.StandardID, signature.StandardTimestamp, signature.StandardSignature, "Content-Type", "Traceparent"} {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// decodeFilter reads a filter: every key a list of values (or one value);
// body maps dotted paths to values. An unknown key is an error.
func decodeFilter(n *yaml.Node) (event.Filter, []error) {
	var f event.Filter
	if n.Kind != yaml.MappingNode {
		return f, []error{errors.New("must be a mapping (providers, entity_types, to, types, body)")}
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if key == "body" {
			body, err := decodeBodyFilter(v)
			errs = append(errs, err...)
			f.Body = body
			continue
		}
		values, ok := stringList(v)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be a value or a list of values", key))
			continue
		}
		switch key {
		case "providers":
			f.Providers = values
		case "entity_types":
			f.EntityTypes = values
		case "to":
			f.To = values
		case "tenants":
			for _, t := range values {
				if !event.ValidTenantID(t) {
					errs = append(errs, fmt.Errorf("tenants: %q is not a tenant ID", t))
				}
			}
			f.Tenants = values
		case "types":
			for _, t := range values {
				if t != event.OutboundType && t != event.OverdueType {
					errs = append(errs, fmt.Errorf("types: %q is not %s or %s", t, event.OutboundType, event.OverdueType))
				}
			}
			f.Types = values
		default:
			errs = append(errs, fmt.Errorf("%s: unknown key (one of %s)", key, strings.Join(filterKeys, ", ")))
		}
	}
	return f, errs
}

// decodeBodyFilter reads body: {dotted.path: [values]}, sorted by path.
func decodeBodyFilter(n *yaml.Node) ([]event.BodyMatch, []error) {
	if n.Kind != yaml.MappingNode {
		return nil, []error{errors.New("body: must map dotted paths to values")}
	}
	var out []event.BodyMatch
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		path := n.Content[i].Value
		values, ok := stringList(n.Content[i+1])
		switch {
		case path == "" || slices.Contains(strings.Split(path, "."), ""):
			errs = append(errs, fmt.Errorf("body: %q is not a dotted path (data.carrier)", path))
		case !ok || len(values) == 0:
			errs = append(errs, fmt.Errorf("body.%s: must be a value or a list of values", path))
		default:
			out = append(out, event.BodyMatch{Path: path, Values: values})
		}
	}
	slices.SortFunc(out, func(a, b event.BodyMatch) int { return strings.Compare(a.Path, b.Path) })
	return out, errs
}

// decodeHandler reads the file's `handler: {task_queue, activity, filter}`:
// the first two as the HOOKFLOW_HANDLER_* settings (the environment still
// overrides them), the filter into c.
func decodeHandler(n *yaml.Node, raw map[string]string) (event.Filter, error) {
	if n.Kind != yaml.MappingNode {
		return event.Filter{}, errors.New("handler: must be a mapping (task_queue, activity, filter)")
	}
	errs := yamlnode.UnknownKeys("handler", n, handlerKeys)
	if v := scalar(n, "task_queue"); v != "" {
		raw["HOOKFLOW_HANDLER_TASK_QUEUE"] = v
	}
	if v := scalar(n, "activity"); v != "" {
		raw["HOOKFLOW_HANDLER_ACTIVITY"] = v
	}
	var f event.Filter
	if fn := yamlnode.Get(n, "filter"); fn != nil {
		var ferrs []error
		f, ferrs = decodeFilter(fn)
		for _, e := range ferrs {
			errs = append(errs, fmt.Errorf("handler.filter: %w", e))
		}
	}
	return f, errors.Join(errs...)
}

// stringList reads a scalar as one value or a sequence of scalars, each
// as written.
func stringList(n *yaml.Node) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, n.Tag != "!!null"
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, false
			}
			out = append(out, item.Value)
		}
		return out, true
	}
	return nil, false
}

// scalar is the scalar under key in mapping m, or "".
func scalar(m *yaml.Node, key string) string {
	if n := yamlnode.Get(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return strings.TrimSpace(n.Value)
	}
	return ""
}
