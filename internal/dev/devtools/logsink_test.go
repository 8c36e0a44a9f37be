package devtools

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/config"
)

func TestLogSink(t *testing.T) {
	cfg := &config.Config{}
	var out bytes.Buffer
	sink, err := NewLogSink(&out, cfg, "http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ForwardURLs) != 1 || cfg.ForwardURLs[0] != "http://127.0.0.1:8080"+LogSinkPath || len(cfg.ForwardSecrets) != 1 {
		t.Fatalf("config not pointed at the sink: %v, %d secret(s)", cfg.ForwardURLs, len(cfg.ForwardSecrets))
	}
	app := fiber.New()
	app.Post(LogSinkPath, sink.Handle)
	body := []byte(`{"type":"entity.transition","workflowId":"fenix-shipment:1","seq":2,"from":"LABEL_CREATED","to":"IN_TRANSIT","eventId":"e2","source":"webhook"}`)
	post := func(secrets config.Secrets, payload []byte) int {
		f, err := activities.NewSigner(secrets)
		if err != nil {
			t.Fatal(err)
		}
		h := f.Headers("fenix-shipment:1:2", time.Now(), body)
		req := httptest.NewRequest("POST", LogSinkPath, bytes.NewReader(payload))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := post(cfg.ForwardSecrets, body); code != 204 {
		t.Errorf("signed delivery answered %d, want 204", code)
	}
	if !strings.Contains(out.String(), "fenix-shipment:1:2  LABEL_CREATED → IN_TRANSIT") || !strings.Contains(out.String(), "signature verified") {
		t.Errorf("printed %q", out.String())
	}
	out.Reset()
	if code := post(config.Secrets{"whsec_" + "b3RoZXItc2VjcmV0LWtleS0xMjM0NQ=="}, body); code != 401 {
		t.Errorf("delivery signed with another secret answered %d, want 401", code)
	}
	if code := post(cfg.ForwardSecrets, append(bytes.Clone(body[:len(body)-1]), []byte(`,"x":1}`)...)); code != 401 {
		t.Errorf("tampered delivery answered %d, want 401", code)
	}
	if !strings.Contains(out.String(), "REFUSED") {
		t.Errorf("refusals not printed: %q", out.String())
	}
}
