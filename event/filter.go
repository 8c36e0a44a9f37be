package event

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Filter chooses the outbound events a destination takes (contract section
// 14). Every key given must match, and a list matches any of its values;
// the zero Filter takes everything. It travels in the entity workflow's
// input and is evaluated there, once, when the transition is applied, so it
// holds only slices (no map is ranged over in workflow code).
type Filter struct {
	Providers   []string `json:"providers,omitempty"`
	EntityTypes []string `json:"entityTypes,omitempty"`
	To          []string `json:"to,omitempty"`    // the status after the transition
	Types       []string `json:"types,omitempty"` // OutboundType, OverdueType
	// Tenants are the tenants whose entities' events the filter takes
	// (contract section 17); the default tenant is never one of them.
	Tenants []string `json:"tenants,omitempty"`
	// Body are dotted paths into the provider's original body and the
	// values allowed at each, sorted by path.
	Body []BodyMatch `json:"body,omitempty"`
}

// BodyMatch is one body key of a Filter: the value at Path (a JSON string,
// number or boolean, as text) must be one of Values.
type BodyMatch struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
}

// Takes reports whether the filter takes o, whose provider's original body
// is body (none for a transition no webhook carried: a reprocess, a
// reconcile or an overdue notice, which a Body key therefore never takes).
func (f Filter) Takes(o Outbound, body json.RawMessage) bool {
	if !anyOf(f.Providers, o.Provider) || !anyOf(f.EntityTypes, o.EntityType) ||
		!anyOf(f.To, o.To) || !anyOf(f.Types, o.Type) || !anyOf(f.Tenants, o.Tenant) {
		return false
	}
	if len(f.Body) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if len(body) == 0 || dec.Decode(&doc) != nil {
		return false
	}
	for _, m := range f.Body {
		v, _ := PathValue(doc, strings.Split(m.Path, "."))
		text, ok := scalarText(v)
		if !ok || !slices.Contains(m.Values, text) {
			return false
		}
	}
	return true
}

// anyOf reports whether values is empty (the key is not given) or holds v.
func anyOf(values []string, v string) bool {
	return len(values) == 0 || slices.Contains(values, v)
}

// PathValue is what lies at a dotted path's segments in a JSON document
// decoded with UseNumber; false when the path runs into a non-object or
// ends at nothing.
func PathValue(doc map[string]any, path []string) (any, bool) {
	var cur any = doc
	for _, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// scalarText is a JSON string, number or boolean as text; false for
// anything else (null, an object, a list).
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
