package providers_test

import (
	"testing"

	"github.com/hookflow/hookflow/providers"
)

func phosphorProvider(secrets []string) providers.Provider {
	return providers.Phosphor(providers.PhosphorVerifier(secrets))
}

func TestPhosphorFixtures(t *testing.T) {
	checkFixtures(t, phosphorProvider, []fixtureCase{
		{
			file: "phosphor-token-tx.json", eventID: "998e6642-2333-4fa7-9abb-2fbf5bfda797",
			entityType: "item", status: "TRANSFER",
			attributes: map[string]string{
				"from":         "0xfc186E95c40e5F96C05F811fE821d9433c9394F4",
				"to":           "0x75A181dc9A3E1b746D62E0be6819f7Bdf1110895",
				"tx_hash":      "0x72641cefc85e187e998be6e8e2752104808d74273f000d992b77457e7b8e3f15",
				"block_number": "12345",
				"log_index":    "2",
				"quantity":     "1",
			},
			providerTime: "2024-06-07T18:08:15+00:00",
		},
		{
			file: "phosphor-listing-created.json", entityType: "listing", status: "CREATED",
			attributes: map[string]string{"item_id": "7b5451bc-ad18-435c-a454-c7357f73707f"},
		},
	})
}

func TestPhosphorAuth(t *testing.T) {
	checkAuth(t, authCase{
		provider: phosphorProvider,
		file:     "phosphor-token-tx.json",
		header:   providers.PhosphorSecretHeader,
		// The shared secret is sent as it is; it does not cover the body.
		signsBody: false,
	})
}

func TestPhosphorParse(t *testing.T) {
	tests := []parseCase{
		{
			name:       "transfer with item",
			body:       `{"id":"e1","type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"TRANSFER","from_addr":"0xa","to_addr":"0xb","tx_hash":"0xh","block_number":7}}`,
			wantID:     "e1",
			wantEntity: "item:i1",
			wantStatus: "TRANSFER",
			wantAttrs:  map[string]string{"from": "0xa", "to": "0xb", "tx_hash": "0xh", "block_number": "7"},
		},
		{
			name:       "item null falls back to contract and token",
			body:       `{"id":"e2","type":"TOKEN_TX","data":{"item":null,"contract_address":"0xc","token_id":42,"tx_type":"MINT"}}`,
			wantID:     "e2",
			wantEntity: "item:0xc:42",
			wantStatus: "MINT",
		},
		{
			name:       "item without id falls back to contract and token",
			body:       `{"id":"e3","type":"TOKEN_TX","data":{"item":{},"contract_address":"0xc","token_id":"9","tx_type":"BURN"}}`,
			wantID:     "e3",
			wantEntity: "item:0xc:9",
			wantStatus: "BURN",
		},
		{
			name:       "tx_type is upper-cased",
			body:       `{"id":"e4","type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"transfer"}}`,
			wantID:     "e4",
			wantEntity: "item:i1",
			wantStatus: "TRANSFER",
		},
		{name: "token tx without id", body: `{"type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"MINT"}}`, wantErr: errMissing},
		{name: "token tx without tx_type", body: `{"id":"e","type":"TOKEN_TX","data":{"item":{"id":"i1"}}}`, wantErr: errMissing},
		{name: "token tx without item or token", body: `{"id":"e","type":"TOKEN_TX","data":{"item":null,"contract_address":"0xc","tx_type":"MINT"}}`, wantErr: errMissing},
		{name: "token tx without data", body: `{"id":"e","type":"TOKEN_TX"}`, wantErr: errMissing},
		{
			name:       "listing cancelled",
			body:       `{"type":"CANCELLED","listing":{"id":"L1","item_id":"i1"}}`,
			wantID:     "L1:CANCELLED",
			wantEntity: "listing:L1",
			wantStatus: "CANCELLED",
			wantAttrs:  map[string]string{"item_id": "i1"},
		},
		{
			name:       "listing completed",
			body:       `{"type":"COMPLETED","listing":{"id":"L1"}}`,
			wantID:     "L1:COMPLETED",
			wantEntity: "listing:L1",
			wantStatus: "COMPLETED",
		},
		{name: "listing without id", body: `{"type":"CREATED","listing":{"price":"0"}}`, wantErr: errMissing},
		{name: "listing type without listing", body: `{"type":"CREATED","purchase":{"id":"p1"}}`, wantErr: providers.ErrIgnored},
		{name: "other type", body: `{"id":"x","type":"PURCHASE_INTENT","data":{}}`, wantErr: providers.ErrIgnored},
		{name: "no type", body: `{"id":"x","data":{}}`, wantErr: errMissing},
		{name: "not JSON", body: `type=TOKEN_TX`, wantErr: providers.ErrInvalidJSON},
		{name: "JSON array", body: `[{"type":"TOKEN_TX"}]`, wantErr: providers.ErrInvalidJSON},
	}
	runParse(t, phosphorProvider(nil), tests)
}
