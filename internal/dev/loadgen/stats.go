package loadgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// answer is what one request got.
type answer struct {
	code      string // the HTTP status code, CodeError when none came, "ok" for the baseline
	duplicate bool   // a 200 whose body says "duplicate":true
	err       string // the transport error, with CodeError
}

// CodeError is the code, in Stats.Codes and the report, of a request that
// got no HTTP answer.
const CodeError = "error"

// expects is the answer every request of a mode must get, and its
// description for the report.
func (o Options) expects() (func(answer) bool, string) {
	if o.Mode == "duplicate" {
		return func(a answer) bool { return a.code == "200" && a.duplicate }, `200 with "duplicate":true`
	}
	return func(a answer) bool { return a.code == "200" }, "200"
}

// Stats is what one measured run got: the receiver's, or the baseline's.
type Stats struct {
	Sent        int
	Elapsed     time.Duration
	First, Last time.Time       // the first request sent, the last answer received
	Latencies   []time.Duration // sorted
	Codes       map[string]int  // answers by HTTP status code, "error" or "ok" (the baseline)
	Accepted    int             // 200 answers to new events
	Duplicates  int             // 200 answers with "duplicate":true
	Unexpected  int             // answers other than the mode expects
	FirstError  string          // the first transport error, to say why
}

// add counts one answer.
func (r *Stats) add(a answer, started, ended time.Time, expected bool) {
	if r.Codes == nil {
		r.Codes = map[string]int{}
	}
	r.Latencies = append(r.Latencies, ended.Sub(started))
	r.Codes[a.code]++
	switch {
	case a.code == "200" && a.duplicate:
		r.Duplicates++
	case a.code == "200":
		r.Accepted++
	}
	if !expected {
		r.Unexpected++
	}
	if a.err != "" && r.FirstError == "" {
		r.FirstError = a.err
	}
	if ended.After(r.Last) {
		r.Last = ended
	}
}

// merge adds another run's measurements to r.
func (r Stats) merge(o Stats) Stats {
	if r.Codes == nil {
		r.Codes = map[string]int{}
	}
	if r.First.IsZero() || (!o.First.IsZero() && o.First.Before(r.First)) {
		r.First = o.First
	}
	if o.Last.After(r.Last) {
		r.Last = o.Last
	}
	r.Sent += o.Sent
	r.Elapsed += o.Elapsed
	r.Latencies = append(r.Latencies, o.Latencies...)
	slices.Sort(r.Latencies)
	for k, v := range o.Codes {
		r.Codes[k] += v
	}
	r.Accepted += o.Accepted
	r.Duplicates += o.Duplicates
	r.Unexpected += o.Unexpected
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	return r
}

// Rate is the requests per second the run sent.
func (r Stats) Rate() float64 { return float64(r.Sent) / r.Elapsed.Seconds() }

// Percentile is the p-th percentile of sorted latencies, nearest rank; 0
// for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Outcomes are the status-code counts, "200: 38, 503: 2", in code order.
func (r Stats) Outcomes() string {
	parts := make([]string, 0, len(r.Codes))
	for _, k := range slices.Sorted(maps.Keys(r.Codes)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.Codes[k]))
	}
	return strings.Join(parts, ", ")
}
