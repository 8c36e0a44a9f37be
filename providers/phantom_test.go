package providers_test

import (
	"testing"

	"github.com/hookflow/hookflow/providers"
)

func phantomProvider(tokens []string) providers.Provider {
	return providers.Phantom(providers.PhantomVerifier(tokens))
}

func TestPhantomFixtures(t *testing.T) {
	checkFixtures(t, phantomProvider, []fixtureCase{
		{
			file:       "phantom-block-forged.json",
			entityType: "block", status: "forged", providerTime: "1717783695",
		},
		{
			file:    "phantom-transaction-applied-v3.json",
			eventID: "transaction.applied:b0bc7c9ba1a2f4e5d1c8a3f6e9b2d7c4a1f8e5b2c9d6a3f0e7b4c1d8a5f2e9b6",
			// Core 3 names the event "event" and its time "timestamp".
			entityType: "transaction", status: "applied", providerTime: "1717783702",
		},
	})
}

func TestPhantomAuth(t *testing.T) {
	checkAuth(t, authCase{
		provider: phantomProvider,
		file:     "phantom-block-forged.json",
		header:   providers.PhantomTokenHeader,
		// The token's first half is sent as it is; it does not cover the body.
		signsBody: false,
	})
}

func TestPhantomSplitToken(t *testing.T) {
	body, vec := loadVector(t, "phantom-block-forged.json")
	token := vec.Secret
	if got, want := providers.PhantomAuthorization(token), vec.Headers["Authorization"]; got != want {
		t.Fatalf("PhantomAuthorization: got %q, want the vector's %q", got, want)
	}
	// Phantom never sends the second half: the check is that the header is
	// the first half of a configured token, and nothing else.
	sameFirstHalf := token[:32] + "00000000000000000000000000000000"
	other := "00000000000000000000000000000000" + token[32:]
	tests := []struct {
		name   string
		tokens []string
		sent   string
		want   int
	}{
		{"first half", []string{token}, token[:32], 200},
		{"whole token", []string{token}, token, 401},
		{"second half", []string{token}, token[32:], 401},
		{"first half but one character", []string{token}, token[:31], 401},
		{"configured token shares only the first half", []string{sameFirstHalf}, token[:32], 200},
		{"configured token shares only the second half", []string{other}, token[:32], 401},
		{"rotated: the second token's first half", []string{other, token}, token[:32], 200},
		{"rotated: the first token's first half", []string{other, token}, other[:32], 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := phantomProvider(tt.tokens).Verifier.Verify(body, headerOf(map[string]string{"Authorization": tt.sent}))
			if got := map[bool]int{true: 200, false: 401}[err == nil]; got != tt.want {
				t.Errorf("Verify: got %v (the receiver answers %d), want %d", err, got, tt.want)
			}
		})
	}
}

func TestPhantomParse(t *testing.T) {
	runParse(t, phantomProvider(nil), []parseCase{
		{
			name:   "core 2 transaction",
			body:   `{"created":1,"type":"transaction.pool.added","data":{"id":"abc"}}`,
			wantID: "transaction.pool.added:abc", wantEntity: "transaction:abc", wantStatus: "pool.added",
		},
		{
			name:   "core 3 block",
			body:   `{"timestamp":1,"event":"block.reverted","data":{"id":"123"}}`,
			wantID: "block.reverted:123", wantEntity: "block:123", wantStatus: "reverted",
		},
		{
			name:   "numeric id",
			body:   `{"event":"block.applied","data":{"id":7176646138626297930}}`,
			wantID: "block.applied:7176646138626297930", wantEntity: "block:7176646138626297930", wantStatus: "applied",
		},
		{
			name:   "type wins over event",
			body:   `{"type":"block.received","event":"block.applied","data":{"id":"1"}}`,
			wantID: "block.received:1", wantEntity: "block:1", wantStatus: "received",
		},
		{name: "wallet event", body: `{"event":"wallet.vote","data":{"delegate":"+02ab"}}`, wantErr: providers.ErrIgnored},
		{name: "round event", body: `{"type":"round.created","data":{"id":"5"}}`, wantErr: providers.ErrIgnored},
		{name: "name without status", body: `{"type":"transaction","data":{"id":"abc"}}`, wantErr: providers.ErrIgnored},
		{name: "transaction without id", body: `{"type":"transaction.applied","data":{"amount":1}}`, wantErr: errMissing},
		{name: "block without data", body: `{"event":"block.forged"}`, wantErr: errMissing},
		{name: "no type or event", body: `{"created":1,"data":{"id":"abc"}}`, wantErr: errMissing},
		{name: "not JSON", body: `block.forged`, wantErr: providers.ErrInvalidJSON},
	})
}
