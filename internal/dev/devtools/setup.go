package devtools

import (
	"io"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/process/health"
)

// Setup is what `hookflow dev` made of a configuration: where its
// listeners are reached on this machine, and which development stand-ins
// it uses.
type Setup struct {
	Base       string   // the receivers, over loopback
	OpsBase    string   // the operations listener, over loopback
	Sandbox    bool     // the Phoenix orders API is the in-process sandbox
	Sink       *LogSink // the forward-to-log sink, when asked for
	DevSecrets []string // providers on hookflow's public development secrets
	// DevConnections are the settings of runtime tenants and connections
	// set to development values (config.UseDevConnections).
	DevConnections []string
}

// Prepare fits cfg for `hookflow dev` and validates it: the development
// secrets for providers that have none; the receivers on loopback unless
// HOOKFLOW_HTTP_ADDR says otherwise, since those secrets are public and
// the sandbox is unauthenticated; the Phoenix sandbox when PHOENIX_API_URL
// is not set; and, with forwardToLog, a sink that verifies and prints every
// delivered transition to out, as HOOKFLOW_FORWARD_URL.
func Prepare(cfg *config.Config, out io.Writer, forwardToLog bool) (Setup, error) {
	s := Setup{DevSecrets: cfg.UseDevSecrets(), Sandbox: !cfg.IsSet("PHOENIX_API_URL")}
	if !cfg.IsSet("HOOKFLOW_HTTP_ADDR") {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	var err error
	if s.Base, err = health.LoopbackURL("HOOKFLOW_HTTP_ADDR", cfg.HTTPAddr); err != nil {
		return s, err
	}
	if s.OpsBase, err = health.LoopbackURL("HOOKFLOW_METRICS_ADDR", cfg.MetricsAddr); err != nil {
		return s, err
	}
	if s.Sandbox {
		cfg.PhoenixAPIURL = s.Base + SandboxPrefix
	}
	s.DevConnections = cfg.UseDevConnections(s.Base, s.Base+UP42SandboxPrefix, s.Base+FenixSandboxPrefix)
	if forwardToLog {
		if s.Sink, err = NewLogSink(out, cfg, s.Base); err != nil {
			return s, err
		}
	}
	return s, cfg.Validate()
}
