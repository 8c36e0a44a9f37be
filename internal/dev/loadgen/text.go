package loadgen

import (
	"fmt"
	"io"
	"time"
)

// writeStats writes one side's measurements, with its rate and latencies
// when rates is set: the report of a failed run has counts only, since its
// rates measure nothing useful.
func writeStats(w io.Writer, r Stats, title string, rates bool) {
	fmt.Fprintf(w, "%s\n  requests   %d in %s\n", title, r.Sent, r.Elapsed.Round(time.Millisecond))
	if rates {
		round := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		fmt.Fprintf(w, "  rate       %.1f requests/s\n  latency    p50 %s  p95 %s  p99 %s  max %s\n",
			r.Rate(), round(Percentile(r.Latencies, 50)), round(Percentile(r.Latencies, 95)),
			round(Percentile(r.Latencies, 99)), round(Percentile(r.Latencies, 100)))
	}
	fmt.Fprintf(w, "  outcomes   %s\n", r.Outcomes())
	if _, ok := r.Codes["200"]; ok {
		fmt.Fprintf(w, "  accepted   %d new, %d duplicate\n", r.Accepted, r.Duplicates)
	}
}

// WriteText writes the run's report as text: `hookflow bench` without --json.
func (res Result) WriteText(out io.Writer) {
	recv, rep, o := res.Receiver, res.Report, res.o
	writeStats(out, recv, "receiver", rep.Rate != nil)
	if o.Baseline {
		fmt.Fprintln(out)
		writeStats(out, res.Baseline, "baseline: raw SDK SignalWithStart", rep.BaselineRate != nil)
		if rep.Ratio != nil {
			fmt.Fprintf(out, "\nreceiver / baseline: %.2fx the rate, p50 %+.2f ms\n", *rep.Ratio, *rep.P50Ms-*rep.BaselineP50)
		}
	}
	if o.Applied && rep.Handled != nil {
		fmt.Fprintf(out, "\napplied\n  handled    %d of %d accepted events\n", *rep.Handled, recv.Accepted)
		if rep.HandledErrors != nil && *rep.HandledErrors > 0 {
			fmt.Fprintf(out, "  errors     %d ended in error in their workflows\n", *rep.HandledErrors)
		}
		if rep.AppliedRate != nil {
			fmt.Fprintf(out, "  rate       %.1f events/s, first request to last event handled\n  drain      %.0f ms after the last answer\n",
				*rep.AppliedRate, *rep.DrainMs)
		}
	}
}
