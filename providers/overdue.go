package providers

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// day is the unit deadlines are usually given in.
const day = 24 * time.Hour

// parseDeadline reads an overdue deadline: a Go duration (36h, 90m) or a
// whole number of days (5d).
func parseDeadline(raw string) (time.Duration, error) {
	raw = strings.TrimSpace(raw)
	if n, ok := strings.CutSuffix(raw, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 {
			return time.Duration(days) * day, nil
		}
	} else if d, err := time.ParseDuration(raw); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("not a positive duration (like 5d, 48h or 90m): %q", raw)
}

// SetOverdue overrides the named provider's deadlines with raw, by status;
// each status must be one of the provider's and each deadline readable.
// where names the setting in errors (overdue.fenix).
func (r *Registry) SetOverdue(name string, raw map[string]string, where string) error {
	i := slices.IndexFunc(r.list, func(p Provider) bool { return p.Name == name })
	if i < 0 {
		return fmt.Errorf("%s: no provider %s (known: %s)", where, name, strings.Join(r.Names(), ", "))
	}
	p := &r.list[i]
	known := map[string]bool{}
	for _, t := range p.Tables {
		for status := range t.Rank {
			known[status] = true
		}
	}
	deadlines := maps.Clone(p.Overdue)
	if deadlines == nil {
		deadlines = map[string]time.Duration{}
	}
	var errs []error
	for _, status := range slices.Sorted(maps.Keys(raw)) {
		d, err := parseDeadline(raw[status])
		switch {
		case !known[status]:
			errs = append(errs, fmt.Errorf("%s.%s: %s has no status %s", where, status, name, status))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.%s: %w", where, status, err))
		default:
			deadlines[status] = d
		}
	}
	p.Overdue = deadlines
	return errors.Join(errs...)
}

// Overdue are the deadlines of provider's entities, by status; nil for an
// unknown provider or one with none.
func (r *Registry) Overdue(provider string) map[string]time.Duration {
	p, ok := r.Get(provider)
	if !ok || len(p.Overdue) == 0 {
		return nil
	}
	return p.Overdue
}
