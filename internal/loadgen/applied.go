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

// parseHandled sums, over the Prometheus text exposition in r, every
// series of handledMetric whose provider label is provider. The OTel
// exporter may add a prefix or a suffix (_total) to the name, so any name
// holding handledMetric counts, except a histogram's or summary's parts.
// found says whether any such series was there: before the worker first
// counts, and in a worker that does not count, there is none.
func parseHandled(r io.Reader, provider string) (total float64, found bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.Contains(line, handledMetric) {
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return 0, false, err
		}
		if !strings.Contains(name, handledMetric) || labels["provider"] != provider || isSeriesPart(name) {
			continue
		}
		total += value
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("read metrics: %w", err)
	}
	return total, found, nil
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
func scrapeHandled(ctx context.Context, hc *http.Client, url, provider string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("read metrics at %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("read metrics at %s: %s", url, resp.Status)
	}
	return parseHandled(resp.Body, provider)
}

// handledPoll is how often --applied reads the counter.
const handledPoll = 50 * time.Millisecond

// waitHandled polls the counter until it has grown by want since before,
// and returns how many events were handled and when the last was seen. On
// timeout it says how far the workflows got, or that the counter is not
// there at all.
func waitHandled(ctx context.Context, hc *http.Client, url, provider string, before float64, want int, timeout time.Duration) (int, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if want <= 0 {
		return 0, time.Now(), nil
	}
	tick := time.NewTicker(handledPoll)
	defer tick.Stop()
	handled, seen, lastErr := 0, false, error(nil)
	for {
		total, found, err := scrapeHandled(ctx, hc, url, provider)
		switch {
		case ctx.Err() != nil: // the deadline cut this scrape short
		case err != nil:
			lastErr = err // a busy worker may answer late: try again until the deadline
		default:
			lastErr = nil
			if !found {
				break
			}
			seen, handled = true, int(math.Round(total-before))
			if handled >= want {
				return handled, time.Now(), nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			switch {
			case !seen && lastErr != nil:
				return handled, time.Time{}, fmt.Errorf("applied: no handled-events count after %s: %w", timeout, lastErr)
			case !seen:
				return handled, time.Time{}, fmt.Errorf("applied: no %s series for provider %s at %s after %s: does the worker count handled events?", handledMetric, provider, url, timeout)
			}
			return handled, time.Time{}, fmt.Errorf("applied: %d of %d accepted events handled after %s", handled, want, timeout)
		}
	}
}
