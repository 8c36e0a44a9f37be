package tenantstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/signature/seal"
)

// TestPermanentErrors: the errors no retry can fix are marked so (the
// connection activities refuse on them); others are not.
func TestPermanentErrors(t *testing.T) {
	isPermanent := func(err error) bool {
		var p interface{ Permanent() bool }
		return errors.As(err, &p) && p.Permanent()
	}
	for _, err := range []error{ErrNotFound, ErrNoKey, ErrReadOnly, ErrInvalid, ErrBadID, seal.ErrNotSealed} {
		if wrapped := classify(fmt.Errorf("tenant x: %w", err)); !isPermanent(wrapped) || !errors.Is(wrapped, err) {
			t.Errorf("%v: permanent %v, still Is %v", err, isPermanent(wrapped), errors.Is(wrapped, err))
		}
	}
	if isPermanent(classify(errors.New("temporal did not answer"))) {
		t.Error("a transient error was marked permanent")
	}
	// Without a key a runtime tenant's secrets are refused at once, and a
	// file tenant's are still read.
	s := &Store{File: []config.Tenant{{ID: "file", Secrets: map[string]config.Secrets{"up42": {"s"}}}}}
	if _, err := s.Secrets(context.Background(), "runtime", "up42"); !errors.Is(err, ErrNoKey) || !isPermanent(err) {
		t.Errorf("a runtime tenant without a key: %v, want a permanent ErrNoKey", err)
	}
	if got, err := s.Secrets(context.Background(), "file", "up42"); err != nil || len(got) != 1 {
		t.Errorf("a file tenant without a key: %v, %v", got, err)
	}
}
