package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// TestNonASCIIEntityIDs: order and tracking numbers outside ASCII are
// accepted, reach their status, are found by `hookflow status` and
// `reprocess` under the original ID, and an ID that looks like another's
// encoding is an entity of its own.
func TestNonASCIIEntityIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const phoenixSecret, fenixSecret = "ids-phoenix-secret", "ids-fenix-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": phoenixSecret, "FENIX_CLIENT_SECRET": fenixSecret})
	t.Setenv("HOOKFLOW_CONFIG", "")
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
	t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)

	euro := strings.Repeat("€", 85) + "x" // 256 bytes, the longest entity ID
	if len(euro) != 256 {
		t.Fatalf("euro ID is %d bytes", len(euro))
	}
	tests := []struct {
		provider, entity, status, kind string
	}{
		{"phoenix", "order-📦-1", "pending", "phoenix-order"},
		{"fenix", "trk-ü-794698751234", "IN_TRANSIT", "fenix-shipment"},
		{"phoenix", euro, "pending", "phoenix-order"},
		// The naive percent-encoding of the first: a different order.
		{"phoenix", "order-%F0%9F%93%A6-1", "pending", "phoenix-order"},
	}
	seen := map[string]string{}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s %.20s", tt.provider, tt.entity), func(t *testing.T) {
			p, err := s.cfg.Providers.Lookup(tt.provider)
			if err != nil {
				t.Fatal(err)
			}
			secret := map[string]string{"phoenix": phoenixSecret, "fenix": fenixSecret}[tt.provider]
			d := providers.Delivery{Entity: tt.entity, Status: tt.status, EventID: fmt.Sprintf("evt-ids-%d-ü", i)}
			body := p.Sample.Body(d)
			if tt.provider == "phoenix" {
				s.api.set(tt.entity, tt.status)
			}
			r := s.post(p.Routes[0], body, p.Sample.Headers(d, body, secret, s.cfg.Setting))
			if r.status != 200 {
				t.Fatalf("answer %d %v, want 200", r.status, r.body)
			}
			wfID, _ := r.body["workflowId"].(string)
			if len(tt.entity) <= 128 && !strings.Contains(s.logs.String(), `"entity_id":"`+tt.entity+`"`) {
				t.Errorf("no log line names the entity ID %q as sent", tt.entity)
			}
			if other, dup := seen[wfID]; dup {
				t.Fatalf("%q shares workflow ID %s with %q", tt.entity, wfID, other)
			}
			seen[wfID] = tt.entity
			want := strings.ToLower(tt.status)
			if tt.provider == "fenix" {
				want = tt.status
			}
			st := s.waitState(wfID, func(st workflows.State) bool { return st.Status == want })
			if st.EntityID != tt.entity {
				t.Errorf("state's entity ID %q, want the original %q", st.EntityID, tt.entity)
			}

			// The operator writes the entity ID as it is.
			asWritten := tt.kind + ":" + tt.entity
			rep, _ := statusJSON(t, asWritten)
			if rep.WorkflowID != wfID || rep.State.EntityID != tt.entity || rep.State.Status != want {
				t.Errorf("status %s: workflow %s, entity %q, status %q; want %s, %q, %q",
					asWritten, rep.WorkflowID, rep.State.EntityID, rep.State.Status, wfID, tt.entity, want)
			}
			testenv.Eventually(t, 30*time.Second, func() (bool, string) {
				return s.visible(fmt.Sprintf("EntityID = %q", tt.entity), wfID)
			})
			if tt.provider == "phoenix" {
				reads := s.api.readsOf(tt.entity)
				out, _ := runOperatorCmd(t, newReprocessCmd, asWritten)
				if !strings.Contains(out, "reprocessed 1, failed 0") {
					t.Errorf("reprocess %s:\n%s", asWritten, out)
				}
				testenv.Eventually(t, 30*time.Second, func() (bool, string) {
					return s.api.readsOf(tt.entity) > reads, "the reprocess has not read the API"
				})
			}
		})
	}
}

// TestAcceptFuzzIDs sends Phoenix events with random entity and event IDs
// (valid and invalid UTF-8, every plane, control characters, 1 to 300
// bytes) to a real dev server, a bounded count from a fixed seed: every
// answer is 200 or 400, never 5xx; an ID the contract allows is accepted,
// and every accepted event is in its workflow under its original IDs.
func TestAcceptFuzzIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "fuzz-ids-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	rng := rand.New(rand.NewPCG(18, 2026))
	type accepted struct{ wfID, entity, event string }
	var ok []accepted
	const n = 120
	for i := range n {
		entity, eventID := randomID(rng, 300), randomID(rng, 300)
		if i%3 == 0 {
			eventID = fmt.Sprintf("evt-fuzz-%d", i) // entity IDs alone
		}
		s.api.set(entity, "pending")
		body := fmt.Sprintf(`{"event":"order.status.change","id":%s,"timestamp":"2026-11-20T10:00:00.000Z","data":{"orderId":%s,"orderStatus":"pending"}}`,
			rawJSONString(eventID), rawJSONString(entity))
		r := s.post("/webhooks/phoenix", []byte(body), map[string]string{"Authorization": "Bearer " + secret, "Content-Type": "application/json"})
		allowed := allowedID(entity, 256) && allowedID(eventID, 512)
		switch {
		case r.status == 200 && allowed:
			wfID, _ := r.body["workflowId"].(string)
			ok = append(ok, accepted{wfID, entity, eventID})
		case r.status == 400 && !allowed:
		default:
			t.Errorf("entity %q event %q (allowed %v): answer %d %v", entity, eventID, allowed, r.status, r.body)
		}
	}
	if len(ok) < n/4 {
		t.Fatalf("only %d of %d accepted: the generator makes too few allowed IDs", len(ok), n)
	}
	for _, a := range ok {
		st := s.waitState(a.wfID, func(st workflows.State) bool { return st.Processed > 0 })
		if st.EntityID != a.entity || !slices.ContainsFunc(st.Events, func(r event.Received) bool { return r.EventID == a.event }) {
			t.Errorf("workflow %s: entity %q, events %+v; want entity %q with event %q", a.wfID, st.EntityID, st.Events, a.entity, a.event)
		}
	}
	t.Logf("%d of %d accepted, every one in its workflow", len(ok), n)
}

// allowedID is the contract's rule for an identifier, written apart from
// the receivers' code: at most max bytes of valid UTF-8, every character
// printable (U+FFFD, what a decoder makes of invalid bytes, is refused).
func allowedID(id string, max int) bool {
	if id == "" || len(id) > max || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// randomID draws an ID of 1 to max bytes from every plane: half of them
// printable characters only, the others with control characters, runes
// that are not printable, and bytes that are not UTF-8 mixed in.
func randomID(rng *rand.Rand, max int) string {
	size := 1 + rng.IntN(max)
	if rng.IntN(2) == 0 {
		size = 1 + rng.IntN(40) // short ones are the common case
	}
	clean := rng.IntN(2) == 0
	planes := []struct{ lo, hi rune }{
		{0x21, 0x7e}, {0x00, 0x1f}, {0x80, 0x7ff}, {0x800, 0xffff}, {0x10000, 0x1ffff}, {0x20000, 0x3ffff}, {0xe0000, 0x10ffff},
	}
	var b []byte
	for len(b) < size {
		if !clean && rng.IntN(20) == 0 {
			b = append(b, byte(0x80+rng.IntN(0x80))) // a lone continuation or lead byte
			continue
		}
		p := planes[rng.IntN(len(planes))]
		if rng.IntN(3) == 0 {
			p = planes[0]
		}
		r := p.lo + rune(rng.IntN(int(p.hi-p.lo+1)))
		if utf8.ValidRune(r) && (!clean || unicode.IsPrint(r) && r != utf8.RuneError) && len(b)+utf8.RuneLen(r) <= size {
			b = utf8.AppendRune(b, r)
		} else if clean && len(b) > 0 && len(b)+1 > size-3 {
			break // no room left for a wide rune
		}
	}
	return string(b)
}

// rawJSONString quotes s for a JSON body, escaping only what JSON requires,
// so that bytes that are not UTF-8 reach the receiver as they are.
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
