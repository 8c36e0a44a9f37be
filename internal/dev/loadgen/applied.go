package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handledMetric is the worker's counter of webhook events whose handling
// by the entity workflow finished, with labels provider and outcome.
const handledMetric = "hookflow_events_handled"

// handledCount is the worker's handled-events count of one provider, split
// by what became of the events: handled (applied, judged stale, or a
// duplicate the workflow's memory caught) or ended in error.
type handledCount struct {
	handled, errors float64
}

// parseHandled sums, over the Prometheus text exposition in r, every
// series of handledMetric whose provider label is provider, the outcome
// "error" apart from the others. The OTel exporter may add a prefix or a
// suffix (_total) to the name, so any name holding handledMetric counts,
// except a histogram's or summary's parts. found says whether any such
// series was there: before the worker first counts, and in a worker that
// does not count, there is none.
func parseHandled(r io.Reader, provider string) (c handledCount, found bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.Contains(line, handledMetric) {
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return handledCount{}, false, err
		}
		if !strings.Contains(name, handledMetric) || labels["provider"] != provider || isSeriesPart(name) {
			continue
		}
		if labels["outcome"] == "error" {
			c.errors += value
		} else {
			c.handled += value
		}
		found = true
	}
	if err := sc.Err(); err != nil {
		return handledCount{}, false, fmt.Errorf("read metrics: %w", err)
	}
	return c, found, nil
}

// isSeriesPart reports whether name is one part of a histogram or summary,
// or OpenMetrics' created timestamp, rather than a count.
func isSeriesPart(name string) bool {
	for _, s := range []string{"_bucket", "_sum", "_count", "_created"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// parseSample splits one sample line of the text exposition format,
// `name{label="value",…} value [timestamp]`.
func parseSample(line string) (name string, labels map[string]string, value float64, err error) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", nil, 0, fmt.Errorf("metrics line %q: no value", line)
	}
	name, rest := line[:end], line[end:]
	labels = map[string]string{}
	if rest[0] == '{' {
		if rest, err = parseLabels(rest[1:], labels); err != nil {
			return "", nil, 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, fmt.Errorf("metrics line %q: no value", line)
	}
	if value, err = strconv.ParseFloat(fields[0], 64); err != nil {
		return "", nil, 0, fmt.Errorf("metrics line %q: %w", line, err)
	}
	return name, labels, value, nil
}

// parseLabels reads `label="value",…}` into labels, unescaping values, and
// returns what follows the closing brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, `="`)
		if eq <= 0 {
			return "", errors.New("malformed labels")
		}
		key := strings.TrimSpace(s[:eq])
		var v strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", errors.New("unterminated label value")
		}
		labels[key] = v.String()
		s = s[i+1:]
	}
}

// scrapeHandled reads the handled-events count for provider at url.
func scrapeHandled(ctx context.Context, hc *http.Client, url, provider string) (handledCount, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return handledCount{}, false, fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return handledCount{}, false, fmt.Errorf("read metrics at %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return handledCount{}, false, fmt.Errorf("read metrics at %s: %s", url, resp.Status)
	}
	return parseHandled(resp.Body, provider)
}

// handledPoll is how often --applied reads the counter.
const handledPoll = 50 * time.Millisecond

// waitHandled polls the counter until every one of the want events the
// run had accepted has finished its handling since before, and returns how
// many were handled, how many ended in error, and when the last was seen.
// Only an exact count is a result: events that ended in error fail the
// run, and so do more events than the run accepted (other traffic for the
// same provider, which would pass for the run's own). On timeout it says
// how far the workflows got, or that the counter is not there at all.
func waitHandled(ctx context.Context, hc *http.Client, url, provider string, before handledCount, want int, timeout time.Duration) (handled, failed int, at time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if want <= 0 {
		return 0, 0, time.Now(), nil
	}
	tick := time.NewTicker(handledPoll)
	defer tick.Stop()
	seen, lastErr := false, error(nil)
	for {
		c, found, err := scrapeHandled(ctx, hc, url, provider)
		switch {
		case ctx.Err() != nil: // the deadline cut this scrape short
		case err != nil:
			lastErr = err // a busy worker may answer late: try again until the deadline
		default:
			lastErr = nil
			if !found {
				break
			}
			seen = true
			handled, failed = int(math.Round(c.handled-before.handled)), int(math.Round(c.errors-before.errors))
			switch {
			case handled+failed < want:
			case failed > 0:
				return handled, failed, time.Time{}, fmt.Errorf("applied: %d of %d accepted events ended in error in their workflows (outcome error)", failed, want)
			case handled > want:
				return handled, failed, time.Time{}, fmt.Errorf("applied: %d events handled for %d accepted: other %s traffic during the run; run --applied on a quiet receiver", handled, want, provider)
			default:
				return handled, failed, time.Now(), nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			switch {
			case !seen && lastErr != nil:
				return handled, failed, time.Time{}, fmt.Errorf("applied: no handled-events count after %s: %w", timeout, lastErr)
			case !seen:
				return handled, failed, time.Time{}, fmt.Errorf("applied: no %s series for provider %s at %s after %s: does the worker count handled events?", handledMetric, provider, url, timeout)
			}
			return handled, failed, time.Time{}, fmt.Errorf("applied: %d of %d accepted events handled (%d in error) after %s", handled, want, failed, timeout)
		}
	}
}
