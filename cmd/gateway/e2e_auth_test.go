package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/rtmptest"
)

// syncBuffer is a log sink the gateway and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLoggedGateway starts an App whose JSON log the test can read.
func startLoggedGateway(t *testing.T, cfg Config) (*App, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Log.Level, cfg.Log.Format = "info", "json"
	app, err := NewApp(cfg, newLogger(cfg.Log, logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return app, logs
}

// tryPublish runs connect/createStream/publish with key and returns the
// publish onStatus code and description.
func tryPublish(t *testing.T, gw *App, app, key string) (code, desc string) {
	t.Helper()
	c, err := rtmptest.Dial(gw.RTMPAddr().String(), rtmptest.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.PublishFlow(app, key)
	if err != nil {
		t.Fatalf("publish %s/%s: %v", app, key, err)
	}
	d, _ := st.Info().GetString("description")
	return st.Code(), d
}

// Who may publish, end to end: static keys select the public stream name; a
// wrong key, a webhook that says no, one that hangs and one that is down each
// give the publisher a clear onStatus and the operator a log line saying why;
// notifications report start and stop; other streams are not disturbed.
func TestE2EPublishAdmission(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var hookBodies []map[string]any
	var events []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		if r.URL.Path == "/notify" {
			events = append(events, m)
		} else {
			hookBodies = append(hookBodies, m)
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/notify":
			w.WriteHeader(http.StatusNoContent)
		case "/admit":
			switch m["key"] {
			case "good-webhook-key":
				_, _ = io.WriteString(w, `{"stream":"from-webhook"}`)
			case "slow":
				time.Sleep(3 * time.Second) // longer than the configured timeout
			default:
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"description":"not on the guest list"}`)
			}
		}
	}))
	defer hook.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downURL := "http://" + down.Addr().String() + "/admit"
	down.Close() // nothing listens there now

	cfg := testConfig("fmp4")
	cfg.Auth.Keys = []KeyConfig{{App: "live", Stream: "show", Key: "s3cret-static-key"}}
	cfg.Auth.Webhook.URL = hook.URL + "/admit"
	cfg.Auth.Webhook.Timeout = 500 * time.Millisecond
	cfg.Auth.Notify.URL = hook.URL + "/notify"
	gw, logs := startLoggedGateway(t, cfg)

	// A static key publishes under its stream name; the key stays secret.
	c, err := rtmptest.Dial(gw.RTMPAddr().String(), rtmptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st, err := c.PublishFlow("live", "s3cret-static-key"); err != nil || st.Code() != "NetStream.Publish.Start" {
		t.Fatalf("static key: %v %v", st, err)
	}
	if !waitFor(5*time.Second, func() bool { return streamInfo(t, gw, "live", "show") != nil }) {
		t.Error("static key did not publish as live/show")
	}

	// The webhook names the stream.
	if code, _ := tryPublish(t, gw, "live", "good-webhook-key"); code != "NetStream.Publish.Start" {
		t.Errorf("webhook admit: %s", code)
	}
	if !waitFor(5*time.Second, func() bool { return streamInfo(t, gw, "live", "from-webhook") != nil }) {
		t.Error("webhook-admitted publish not seen as live/from-webhook")
	}

	for _, tc := range []struct{ name, key, wantDesc, wantReason string }{
		{"webhook says no", "wrong-key", "not on the guest list", "403"},
		{"webhook hangs", "slow", "", "did not answer within 500ms"},
	} {
		start := time.Now()
		code, desc := tryPublish(t, gw, "live", tc.key)
		if code != "NetStream.Publish.Unauthorized" || !strings.Contains(desc, tc.wantDesc) {
			t.Errorf("%s: onStatus %s %q", tc.name, code, desc)
		}
		if tc.key == "slow" && time.Since(start) > 3*time.Second {
			t.Errorf("%s: refusal took %v with a 500ms timeout", tc.name, time.Since(start))
		}
		if !waitFor(2*time.Second, func() bool {
			return strings.Contains(logs.String(), `"message":"publish refused"`) && strings.Contains(logs.String(), tc.wantReason)
		}) {
			t.Errorf("%s: no log line with the reason %q", tc.name, tc.wantReason)
		}
	}
	if strings.Contains(logs.String(), "s3cret-static-key") || strings.Contains(logs.String(), "wrong-key") {
		t.Error("a stream key appears in the log")
	}

	// The webhook saw the attempt with the documented fields.
	mu.Lock()
	var seen map[string]any
	for _, b := range hookBodies {
		if b["key"] == "wrong-key" {
			seen = b
		}
	}
	mu.Unlock()
	if seen == nil || seen["app"] != "live" || seen["action"] != "publish" || seen["remote"] == "" || seen["connect"] == nil {
		t.Errorf("webhook request = %v", seen)
	}

	// A webhook that is down refuses too, and the admitted stream goes on.
	cfg2 := testConfig("fmp4")
	cfg2.Auth.Webhook.URL = downURL
	gw2, logs2 := startLoggedGateway(t, cfg2)
	if code, desc := tryPublish(t, gw2, "live", "anything"); code != "NetStream.Publish.Unauthorized" {
		t.Errorf("webhook down: %s %q", code, desc)
	}
	if !waitFor(2*time.Second, func() bool { return strings.Contains(logs2.String(), "publish refused") }) {
		t.Error("webhook down: no log line")
	}
	if s := streamInfo(t, gw, "live", "show"); s == nil || !s.Live {
		t.Errorf("the admitted stream was disturbed: %+v", s)
	}

	// Notifications: start for both admitted publishes, stop after unpublish.
	if err := c.Unpublish("s3cret-static-key"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		var start, stop bool
		for _, e := range events {
			start = start || e["event"] == "publish_start" && e["stream"] == "show"
			stop = stop || e["event"] == "publish_stop" && e["stream"] == "show" && e["clean"] == true
		}
		return start && stop
	}) {
		mu.Lock()
		t.Errorf("notify events = %v", fmt.Sprint(events))
		mu.Unlock()
	}
}
