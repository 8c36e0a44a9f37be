// Package yamlnode reads the parts of a YAML configuration that are decoded
// by hand (providers:, destinations:, handler:), so that every mistake can
// name its entry and key: a mapping's value by key, and the keys a mapping
// must not have.
package yamlnode

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Get is the node under key in mapping m, or nil.
func Get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// UnknownKeys names each key of mapping m that is not one of known, as
// `<where>.<key>: unknown key (one of …)`.
func UnknownKeys(where string, m *yaml.Node, known []string) []error {
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		if key := m.Content[i].Value; !slices.Contains(known, key) {
			errs = append(errs, fmt.Errorf("%s.%s: unknown key (one of %s)", where, key, strings.Join(known, ", ")))
		}
	}
	return errs
}
