package admission

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

func notifyConfig(url string) Config {
	return Config{Notify: NotifyConfig{
		URL:     url,
		Timeout: 300 * time.Millisecond,
		Backoff: 10 * time.Millisecond,
		Headers: map[string]string{"Authorization": "Bearer notify-token"},
	}}
}

func TestNotifyDelivery(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
	a, _ := newAdmitter(t, notifyConfig(hs.URL))

	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	a.NotifyStart(Event{App: "live", Stream: "main", Remote: "127.0.0.1:5000", ConnID: "c1", Time: at,
		Duration: time.Hour, Bytes: 99}) // ignored for a start
	a.NotifyStop(Event{App: "live", Stream: "main", Remote: "127.0.0.1:5000", ConnID: "c1",
		Duration: 90*time.Second + 500*time.Millisecond, Bytes: 123456, Clean: false})

	start := hs.next(t)
	if start.header.Get("Content-Type") != "application/json" || start.header.Get("Authorization") != "Bearer notify-token" {
		t.Errorf("headers = %v", start.header)
	}
	m := decodeJSON(t, start.body)
	if m["event"] != EventPublishStart || m["app"] != "live" || m["stream"] != "main" || m["remote"] != "127.0.0.1:5000" ||
		m["conn_id"] != "c1" || m["time"] != "2025-03-01T11:00:00Z" {
		t.Errorf("start = %s", start.body)
	}
	if id, _ := m["id"].(string); len(id) != 16 {
		t.Errorf("id = %v", m["id"])
	}
	for _, f := range []string{"duration_ms", "bytes", "clean"} {
		if _, ok := m[f]; ok {
			t.Errorf("start carries %q: %s", f, start.body)
		}
	}

	stop := hs.next(t)
	var msg NotifyMessage
	if err := json.Unmarshal(stop.body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Event != EventPublishStop || msg.DurationMS == nil || *msg.DurationMS != 90500 ||
		msg.Bytes == nil || *msg.Bytes != 123456 || msg.Clean == nil || *msg.Clean {
		t.Errorf("stop = %s", stop.body)
	}
	if msg.Time.IsZero() || time.Since(msg.Time) > time.Minute {
		t.Errorf("default time = %v", msg.Time)
	}
	if msg.ID == m["id"] {
		t.Error("two events share an id")
	}
	// clean:false is sent, not omitted.
	if !strings.Contains(string(stop.body), `"clean":false`) {
		t.Errorf("stop = %s", stop.body)
	}

	waitFor(t, 2*time.Second, "delivery counters", func() bool { return a.Stats().NotifyDelivered == 2 })
	if s := a.Stats(); s.NotifyQueued != 2 || s.NotifyFailed != 0 || s.NotifyRetries != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNotifyRetry(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	a, _ := newAdmitter(t, notifyConfig(hs.URL))
	a.NotifyStart(Event{App: "live", Stream: "main"})

	first, second := decodeJSON(t, hs.next(t).body), decodeJSON(t, hs.next(t).body)
	if first["id"] != second["id"] {
		t.Errorf("retry changed the id: %v then %v", first["id"], second["id"])
	}
	waitFor(t, 2*time.Second, "delivery", func() bool { return a.Stats().NotifyDelivered == 1 })
	if s := a.Stats(); s.NotifyRetries != 1 || s.NotifyFailed != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNotifyGivesUp(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		attempts int
	}{
		{"5xx retried", http.StatusBadGateway, 3},
		{"429 retried", http.StatusTooManyRequests, 3},
		{"4xx not retried", http.StatusBadRequest, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(c.status) })
			cfg := notifyConfig(hs.URL)
			cfg.Notify.Retries = 2
			a, logs := newAdmitter(t, cfg)
			a.NotifyStop(Event{App: "live", Stream: "main"})
			waitFor(t, 3*time.Second, "the notification to fail", func() bool { return a.Stats().NotifyFailed == 1 })
			if n := len(hs.reqs); n != c.attempts {
				t.Errorf("attempts = %d, want %d", n, c.attempts)
			}
			if s := a.Stats(); s.NotifyRetries != uint64(c.attempts-1) || s.NotifyDelivered != 0 {
				t.Errorf("stats = %+v", s)
			}
			if !strings.Contains(logs.String(), "notification not delivered") {
				t.Errorf("no warning logged:\n%s", logs)
			}
		})
	}
}

func TestNotifyDown(t *testing.T) {
	cfg := notifyConfig(closedURL(t))
	cfg.Notify.Retries = 1
	a, _ := newAdmitter(t, cfg)
	a.NotifyStart(Event{App: "live", Stream: "main"})
	waitFor(t, 3*time.Second, "the notification to fail", func() bool { return a.Stats().NotifyFailed == 1 })
	if s := a.Stats(); s.NotifyRetries != 1 {
		t.Errorf("stats = %+v", s)
	}
}

// A notify endpoint that hangs must not slow publishing down: Admit and
// Notify return at once, a full queue drops with a warning, and Close
// returns within its drain timeout.
func TestNotifyHangingNeverBlocks(t *testing.T) {
	hs := newHookServer(t, hangingHandler(t))
	cfg := notifyConfig(hs.URL)
	cfg.Keys = []StaticKey{{App: "live", Stream: "main", Key: secret}}
	cfg.Notify.Timeout = 10 * time.Second
	cfg.Notify.QueueSize = 4
	cfg.Notify.DrainTimeout = 200 * time.Millisecond
	a, logs := newAdmitter(t, cfg)

	const events = 50
	start := time.Now()
	for i := range events {
		d, err := a.Admit(context.Background(), request("live", secret))
		if err != nil {
			t.Fatalf("Admit: %v", err)
		}
		ev := Event{App: d.App, Stream: d.Stream, ConnID: "c"}
		if i%2 == 0 {
			a.NotifyStart(ev)
		} else {
			a.NotifyStop(ev)
		}
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Fatalf("%d Admit+Notify calls took %v", events, el)
	}
	hs.next(t) // the worker is stuck on the first one

	s := a.Stats()
	// One in flight, QueueSize waiting, the rest dropped.
	if s.NotifyQueued+s.NotifyDropped != events || s.NotifyDropped < events-1-uint64(cfg.Notify.QueueSize) {
		t.Errorf("stats = %+v", s)
	}
	if !strings.Contains(logs.String(), "queue full") {
		t.Error("no warning for dropped notifications")
	}

	start = time.Now()
	a.Close()
	if el := time.Since(start); el > cfg.Notify.DrainTimeout+time.Second {
		t.Fatalf("Close took %v", el)
	}
	s = a.Stats()
	if s.NotifyDelivered != 0 || s.NotifyFailed != s.NotifyQueued {
		t.Errorf("after Close: stats = %+v", s)
	}

	// After Close: events are dropped, Admit still works, Close is idempotent.
	a.NotifyStart(Event{App: "live", Stream: "main"})
	if got := a.Stats().NotifyDropped; got != s.NotifyDropped+1 {
		t.Errorf("dropped after close = %d", got)
	}
	if _, err := a.Admit(context.Background(), request("live", secret)); err != nil {
		t.Errorf("Admit after Close: %v", err)
	}
	a.Close()
}

func TestCloseDrains(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		time.Sleep(20 * time.Millisecond)
	})
	a, _ := newAdmitter(t, notifyConfig(hs.URL))
	for range 5 {
		a.NotifyStart(Event{App: "live", Stream: "main"})
	}
	a.Close()
	if s := a.Stats(); s.NotifyDelivered != 5 {
		t.Errorf("Close did not drain the queue: %+v", s)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		defer hs.Close()
		cfg := notifyConfig(hs.URL)
		cfg.Webhook = WebhookConfig{URL: hs.URL}
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Admit(context.Background(), request("live", "cam")); err != nil {
			t.Fatal(err)
		}
		a.NotifyStart(Event{App: "live", Stream: "cam"})
		a.NotifyStop(Event{App: "live", Stream: "cam"})
		a.Close()
		if s := a.Stats(); s.NotifyDelivered != 2 {
			t.Errorf("stats = %+v", s)
		}
	}()
	checkGoroutines(t, base)
}

func TestNoNotifyURL(t *testing.T) {
	a, _ := newAdmitter(t, Config{})
	a.NotifyStart(Event{App: "live", Stream: "x"})
	a.NotifyStop(Event{App: "live", Stream: "x"})
	a.Close()
	if s := a.Stats(); s != (Stats{}) {
		t.Errorf("stats = %+v", s)
	}
}
