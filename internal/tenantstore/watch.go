package tenantstore

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/config"
)

// WatchEvery is how often Watch lists the runtime tenants: well inside the
// 5 s in which an added, changed or removed tenant reaches every receiver
// and worker, visibility's own delay included.
const WatchEvery = time.Second

// Watch lists the runtime tenants every interval (WatchEvery when 0) until
// ctx ends, and calls apply with every tenant, the file's first, whenever
// one was added, changed or removed; once at the first listing too. A
// listing that fails keeps the tenants as they were, and is logged once
// until one succeeds again.
func (s *Store) Watch(ctx context.Context, every time.Duration, log *slog.Logger, apply func([]config.Tenant)) {
	if every <= 0 {
		every = WatchEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	last, seenOnce, failing := "", false, false
	for {
		if recs, err := s.Records(ctx); err != nil {
			if !failing && ctx.Err() == nil {
				log.Warn("runtime tenants not listed; keeping those known", "error", err)
			}
			failing = true
		} else {
			failing = false
			var b strings.Builder
			for _, r := range recs {
				b.WriteString(r.ID + "@" + strconv.FormatInt(r.Revision, 10) + ",")
			}
			if seen := b.String(); seen != last || !seenOnce {
				last, seenOnce = seen, true
				tenants := append([]config.Tenant(nil), s.File...)
				for _, r := range recs {
					if _, ok := s.fileTenant(r.ID); ok {
						log.Warn("runtime tenant ignored: the file configures it", "tenant", r.ID)
						continue
					}
					t, _, err := s.Open(r)
					if err != nil {
						log.Error("runtime tenant secret not opened (sealed under a key HOOKFLOW_SECRETS_KEY lacks?)", "tenant", r.ID, "error", err)
					}
					tenants = append(tenants, t)
				}
				apply(tenants)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
