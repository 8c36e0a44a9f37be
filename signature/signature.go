// Package signature authenticates the webhooks hookflow receives and signs
// the ones it sends: the verifiers (bearer, shared secret, HMAC, split
// token, Standard Webhooks), each over the raw body bytes and in constant
// time, and Standard Webhooks signing for destinations. It imports nothing
// of hookflow, so the provider registry, the receivers, the activities and
// `hookflow send` can all use it.
package signature

import "regexp"

// headerNameRE is an HTTP header name: a token (RFC 9110).
var headerNameRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)

// IsHeaderName reports whether name can be an HTTP header's name, for
// configuration that names headers (a provider's signature header, a
// destination's extra headers).
func IsHeaderName(name string) bool { return headerNameRE.MatchString(name) }
