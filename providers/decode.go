package providers

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
)

// decode unmarshals a JSON object into v. A body that is not JSON, or not an
// object, is ErrInvalidJSON; fields of an unexpected type are left
// empty, so the required-field check names them.
func decode(body []byte, v any) error {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return ErrInvalidJSON
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError // only here: its address escapes
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return nil
	}
	return ErrInvalidJSON
}

// nonEmpty drops the empty values of m, and returns nil when none is left,
// so events carry only the details the provider sent.
func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// flexString is a JSON string or number kept as its text: providers send
// token IDs, block numbers and entity IDs either way. Any other JSON value
// leaves it empty, so the required-field check names the field.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	}
	return nil
}

// mustJSON marshals the maps of strings, numbers and maps samples are made
// of.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings, numbers and maps are marshalled here
	}
	return b
}

// randomHex is n random bytes in hexadecimal, for sample IDs and hashes.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// set builds a table's set from its members.
func set(members ...string) map[string]bool {
	m := make(map[string]bool, len(members))
	for _, s := range members {
		m[s] = true
	}
	return m
}
