package event

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the identifiers hookflow accepts. They bound what a provider can
// make us store, log and send to Temporal, and they keep every workflow ID
// under Temporal's own limit (1000 bytes by default): the longest built-in
// prefix, "phantom-transaction%:", plus an entity ID of MaxEntityIDBytes
// percent-encoded in full (3 bytes for each, see WorkflowID) fits.
const (
	// MaxEntityIDBytes is the longest entity ID, in bytes, that becomes a
	// workflow ID; the receivers answer a longer one 400 "invalid <field>".
	MaxEntityIDBytes = 256
	// MaxEventIDBytes is the longest event ID, in bytes, that becomes a
	// dedup key and the workflow's event-ID memory; the receivers answer a
	// longer one 400 "invalid <field>".
	MaxEventIDBytes = 512
)

// UsableID reports whether id may name an entity or event: 1 to max bytes,
// valid UTF-8, and printable throughout (no control characters, DEL, or
// other runes unicode.IsPrint rejects). Ranging over invalid UTF-8 yields
// U+FFFD, which is refused as well: it is also what encoding/json makes of
// invalid UTF-8 in a string, so two IDs sent that way would become one.
func UsableID(id string, max int) bool {
	if id == "" || len(id) > max {
		return false
	}
	for _, r := range id {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Workflow IDs travel in a gRPC header (the Temporal API client copies the
// workflow ID of every request into "temporal-resource-id"), and grpc-go
// refuses any header value outside printable ASCII, 0x20 to 0x7E. An entity
// ID within that range is its workflow ID as it always was:
//
//	phoenix-order:order-1
//
// Any other entity ID (accents, CJK, emoji) is percent-encoded byte by byte
// (every byte outside 0x21..0x7E, and '%' itself, becomes %XX in upper-case
// hex), and its kind carries the marker '%' before the colon:
//
//	phoenix-order%:M%C3%BCller-42
//
// No provider or entity type holds '%', so an encoded workflow ID can never
// equal a plain one, and percent-encoding is reversible, so two entity IDs
// never share a workflow ID. The original ID is kept everywhere else: the
// EntityID search attribute, the run's state, logs, deliveries.
const encodedMarker = "%"

// WorkflowID builds the workflow ID of an entity.
func WorkflowID(provider, entityType, entityID string) string {
	kind := provider + "-" + entityType
	if plainASCII(entityID) {
		return kind + ":" + entityID
	}
	return kind + encodedMarker + ":" + percentEncode(entityID)
}

// Tenants (contract section 17). A tenant's entity has its own workflow ID,
// the tenant after its entity type and a marker '@':
//
//	phoenix-order@wearhumans.myshopify.com:order-1
//	phoenix-order@wearhumans.myshopify.com%:M%C3%BCller-42
//
// The default tenant (the provider-level secrets; "" here) keeps the
// workflow IDs it always had. No provider, entity type or tenant ID holds
// '@', '%' or ':', so the kind reads back one way and a tenant's workflow ID
// never equals another tenant's, nor the default tenant's.
const tenantMarker = "@"

// MaxTenantIDBytes is the longest tenant ID.
const MaxTenantIDBytes = 63

// ValidTenantID reports whether id may name a tenant: 1 to 63 bytes of
// lower-case ASCII letters, digits, '.' and '-', beginning and ending with a
// letter or digit ([a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?), and no "..": a
// store name such as wearhumans.myshopify.com is one. It goes into workflow
// IDs, dedup keys and routes, so it holds nothing those give a meaning to.
func ValidTenantID(id string) bool {
	if id == "" || len(id) > MaxTenantIDBytes || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-') && i > 0 && i < len(id)-1:
		default:
			return false
		}
	}
	return true
}

// TenantWorkflowID builds the workflow ID of an entity of tenant; the
// default tenant ("") has WorkflowID's.
func TenantWorkflowID(tenant, provider, entityType, entityID string) string {
	if tenant == "" {
		return WorkflowID(provider, entityType, entityID)
	}
	return WorkflowID(provider, entityType+tenantMarker+tenant, entityID)
}

// CutTenant splits a workflow ID's kind, <provider>-<entity type> with
// "@<tenant>" for a tenant's entity, into the kind without it and the
// tenant, "" for the default tenant; ok is false when a tenant is written
// but is not a valid tenant ID.
func CutTenant(kind string) (base, tenant string, ok bool) {
	base, tenant, found := strings.Cut(kind, tenantMarker)
	if !found {
		return kind, "", true
	}
	if !ValidTenantID(tenant) {
		return "", "", false
	}
	return base, tenant, true
}

// ParseTenantWorkflowID is ParseWorkflowID for every tenant: it also
// returns the tenant, "" for the default tenant's workflow IDs.
func ParseTenantWorkflowID(id string) (tenant, provider, entityType, entityID string, ok bool) {
	kind, entityID, ok := CutWorkflowID(id)
	if !ok {
		return "", "", "", "", false
	}
	kind, tenant, ok = CutTenant(kind)
	if !ok {
		return "", "", "", "", false
	}
	provider, entityType, found := strings.Cut(kind, "-")
	if !found || provider == "" || entityType == "" {
		return "", "", "", "", false
	}
	return tenant, provider, entityType, entityID, true
}

// ParseWorkflowID splits an entity workflow ID into its provider, entity
// type and entity ID, decoding an encoded entity ID; ok is false when id is
// not of that form. Entity IDs may contain colons; provider and entity type
// never do.
func ParseWorkflowID(id string) (provider, entityType, entityID string, ok bool) {
	kind, entityID, ok := CutWorkflowID(id)
	if !ok {
		return "", "", "", false
	}
	provider, entityType, found := strings.Cut(kind, "-")
	if !found || provider == "" || entityType == "" {
		return "", "", "", false
	}
	return provider, entityType, entityID, true
}

// CutWorkflowID splits an entity workflow ID into its kind,
// <provider>-<entity type>, and its entity ID, decoded when the workflow ID
// is of the encoded form; ok is false when id has no kind, no entity ID, or
// an encoding that WorkflowID would not have written.
func CutWorkflowID(id string) (kind, entityID string, ok bool) {
	kind, entityID, found := strings.Cut(id, ":")
	if !found || entityID == "" || kind == "" {
		return "", "", false
	}
	if k, encoded := strings.CutSuffix(kind, encodedMarker); encoded {
		decoded, ok := percentDecode(entityID)
		if !ok || k == "" || WorkflowID("", "", decoded) != "-"+encodedMarker+":"+entityID {
			return "", "", false
		}
		return k, decoded, true
	}
	return kind, entityID, true
}

// plainASCII reports whether s is printable ASCII throughout, the workflow
// IDs of which go into a gRPC header as they are.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

const upperHex = "0123456789ABCDEF"

// percentEncode writes every byte outside 0x21..0x7E, and '%', as %XX.
func percentEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0xf])
	}
	return b.String()
}

// percentDecode reverses percentEncode; ok is false on a malformed escape.
func percentDecode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := strings.IndexByte(upperHex, s[i+1]), strings.IndexByte(upperHex, s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}

// JoinID joins the parts of an ID derived from a body's fields (Phoenix's
// orderId:orderStatus:timestamp, Phantom's type:data.id, Phosphor's
// contract:token), so that different parts never give the same ID.
//
// When no part but the last holds ':', the parts are joined with ':' as they
// always were, so redeliveries across an upgrade still match: such an ID
// reads back one way, its first colons ending its first parts. Otherwise
// each part is escaped ('%' as %25, ':' as %3A) and the parts are joined
// with "%%": that form holds no ':' at all, while a joined one holds at
// least one, and it reads back one way, since an escaped part never holds
// "%%" nor ends in '%'.
func JoinID(parts ...string) string {
	ambiguous := false
	for _, p := range parts[:max(len(parts)-1, 0)] {
		ambiguous = ambiguous || strings.Contains(p, ":")
	}
	if !ambiguous {
		return strings.Join(parts, ":")
	}
	escaped := make([]string, len(parts))
	for i, p := range parts {
		escaped[i] = idEscaper.Replace(p)
	}
	return strings.Join(escaped, "%%")
}

var idEscaper = strings.NewReplacer("%", "%25", ":", "%3A")
