package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

func webhookConfig(url string) Config {
	return Config{Webhook: WebhookConfig{
		URL:     url + "?token=hooktoken",
		Timeout: 300 * time.Millisecond,
		Headers: map[string]string{"Authorization": "Bearer gw-token"},
	}}
}

func TestWebhookRequestJSON(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNoContent) })
	a, _ := newAdmitter(t, webhookConfig(hs.URL))

	req := request("live", "cam1")
	req.Connect["nan"] = math.NaN()
	req.Connect["nested"] = map[string]any{"inf": math.Inf(1), "n": 1.5}
	if _, err := a.Admit(context.Background(), req); err != nil {
		t.Fatalf("Admit: %v", err)
	}
	got := hs.next(t)
	if got.method != http.MethodPost {
		t.Errorf("method = %s", got.method)
	}
	for h, want := range map[string]string{
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"Authorization": "Bearer gw-token",
		"User-Agent":    userAgent,
	} {
		if got.header.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, got.header.Get(h), want)
		}
	}

	var body WebhookRequest
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatalf("body %s: %v", got.body, err)
	}
	if body.Action != "publish" || body.App != "live" || body.Key != "cam1" || body.Remote != "127.0.0.1:54321" ||
		body.IP != "127.0.0.1" || body.ConnID != "c42" {
		t.Errorf("body = %+v", body)
	}
	if q := body.Query; len(q) != 2 || q["token"][0] != "abc" || len(q["x"]) != 2 {
		t.Errorf("query = %v", q)
	}

	// The exact wire shape, field by field.
	m := decodeJSON(t, got.body)
	for _, f := range []string{"action", "app", "key", "query", "remote", "ip", "conn_id", "connect"} {
		if _, ok := m[f]; !ok {
			t.Errorf("field %q missing from %s", f, got.body)
		}
	}
	c, _ := m["connect"].(map[string]any)
	if c["tcUrl"] != "rtmp://127.0.0.1/live" || c["flashVer"] != "FMLE/3.0" || c["fpad"] != false || c["capabilities"] != 15.0 {
		t.Errorf("connect = %v", c)
	}
	if v, ok := c["nan"]; !ok || v != nil {
		t.Errorf("NaN sent as %v (present %v), want null", v, ok)
	}
	if n, _ := c["nested"].(map[string]any); n == nil || n["inf"] != nil || n["n"] != 1.5 {
		t.Errorf("nested = %v", c["nested"])
	}

	// Empty query and connect are sent as {} rather than null.
	if _, err := a.Admit(context.Background(), &Request{App: "live", Key: "cam2"}); err != nil {
		t.Fatalf("Admit: %v", err)
	}
	m = decodeJSON(t, hs.next(t).body)
	if _, ok := m["query"].(map[string]any); !ok {
		t.Errorf("query = %v", m["query"])
	}
	if _, ok := m["connect"].(map[string]any); !ok {
		t.Errorf("connect = %v", m["connect"])
	}
}

func TestWebhookAnswers(t *testing.T) {
	type answer struct {
		status int
		ctype  string
		body   string
	}
	cases := []struct {
		name  string
		ans   answer
		app   string
		key   string
		want  Decision
		code  string
		cause error
		inRsn string // substring of the reason
		desc  string // expected description, if checked
	}{
		{name: "200 empty", ans: answer{200, "", ""}, key: "cam1",
			want: Decision{App: "live", Stream: "cam1", Source: SourceWebhook}},
		{name: "204", ans: answer{204, "", ""}, key: "cam1",
			want: Decision{App: "live", Stream: "cam1", Source: SourceWebhook}},
		{name: "200 {}", ans: answer{200, "application/json", " {} \n"}, key: "cam1",
			want: Decision{App: "live", Stream: "cam1", Source: SourceWebhook}},
		{name: "200 stream", ans: answer{200, "application/json", `{"stream":"studio-a"}`}, key: secret,
			want: Decision{App: "live", Stream: "studio-a", Source: SourceWebhook}},
		{name: "200 app and stream", ans: answer{200, "application/json", `{"app":"tv","stream":"ch1","extra":[1,2]}`}, key: secret,
			want: Decision{App: "tv", Stream: "ch1", Source: SourceWebhook}},
		{name: "200 no stream, key unusable as a name", ans: answer{200, "", ""}, key: "tok/en",
			code: CodeBadName, inRsn: "without naming a stream"},
		{name: "200 invalid stream", ans: answer{200, "application/json", `{"stream":"../etc"}`}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse, inRsn: "invalid body"},
		{name: "200 invalid app", ans: answer{200, "application/json", `{"app":"a b","stream":"x"}`}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse, inRsn: "app"},
		{name: "200 garbage", ans: answer{200, "text/html", "<html>login</html>"}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse, inRsn: "not a JSON object"},
		{name: "200 OK text", ans: answer{200, "text/plain", "OK"}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse},
		{name: "200 JSON array", ans: answer{200, "application/json", `["cam1"]`}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse},
		{name: "200 trailing data", ans: answer{200, "application/json", `{"stream":"a"} x`}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse},
		{name: "200 too large", ans: answer{200, "application/json", `{"stream":"a","pad":"` + strings.Repeat("x", maxResponseBody) + `"}`}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookBadResponse, inRsn: "larger than"},
		{name: "403", ans: answer{403, "", ""}, key: secret,
			code: CodeUnauthorized, cause: ErrWebhookDenied, inRsn: "403 Forbidden", desc: "publish not authorized"},
		{name: "403 with description", ans: answer{403, "application/json", `{"description":"subscription expired\n"}`}, key: secret,
			code: CodeUnauthorized, cause: ErrWebhookDenied, inRsn: "subscription expired", desc: "subscription expired"},
		{name: "302 not followed", ans: answer{302, "", ""}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookDenied, inRsn: "302"},
		{name: "500", ans: answer{500, "", "boom"}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookStatus, inRsn: "500 Internal Server Error", desc: descUnavailable},
		{name: "503", ans: answer{503, "", ""}, key: "cam1",
			code: CodeUnauthorized, cause: ErrWebhookStatus, inRsn: "503"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHookServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path == "/redirected" {
					w.WriteHeader(http.StatusOK) // a redirect must not land here
					return
				}
				if c.ans.status == 302 {
					w.Header().Set("Location", "/redirected")
				}
				if c.ans.ctype != "" {
					w.Header().Set("Content-Type", c.ans.ctype)
				}
				w.WriteHeader(c.ans.status)
				fmt.Fprint(w, c.ans.body)
			})
			a, logs := newAdmitter(t, webhookConfig(hs.URL))
			d, err := admitWithin(t, a, request("live", c.key), 2*time.Second)
			if c.code == "" {
				if err != nil || d != c.want {
					t.Fatalf("got %+v, %v; want %+v", d, err, c.want)
				}
				if s := a.Stats(); s.AdmittedWebhook != 1 || s.WebhookCalls != 1 || s.WebhookLatency <= 0 {
					t.Errorf("stats = %+v", s)
				}
				return
			}
			rej := rejection(t, err, c.code)
			if c.cause != nil && !errors.Is(err, c.cause) {
				t.Errorf("error %v does not match %v", err, c.cause)
			}
			if !strings.Contains(rej.Reason, c.inRsn) {
				t.Errorf("reason %q lacks %q", rej.Reason, c.inRsn)
			}
			if c.desc != "" && rej.Description != c.desc {
				t.Errorf("description = %q, want %q", rej.Description, c.desc)
			}
			for _, leak := range []string{secret, "hooktoken"} {
				if strings.Contains(rej.Error(), leak) || strings.Contains(rej.Description, leak) || strings.Contains(logs.String(), leak) {
					t.Errorf("%q leaked: %+v\nlogs: %s", leak, rej, logs)
				}
			}
			s := a.Stats()
			switch {
			case errors.Is(err, ErrWebhookDenied):
				if s.WebhookDenials != 1 || s.WebhookFailures != 0 {
					t.Errorf("stats = %+v", s)
				}
			case errors.Is(err, ErrWebhookStatus), errors.Is(err, ErrWebhookBadResponse):
				if s.WebhookFailures != 1 || s.WebhookDenials != 0 {
					t.Errorf("stats = %+v", s)
				}
			}
			if s.Rejected() != 1 || s.Admitted() != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestWebhookTimeout(t *testing.T) {
	hs := newHookServer(t, hangingHandler(t))
	cfg := webhookConfig(hs.URL)
	cfg.Webhook.Timeout = 200 * time.Millisecond
	a, _ := newAdmitter(t, cfg)

	start := time.Now()
	_, err := admitWithin(t, a, request("live", "cam1"), cfg.Webhook.Timeout+time.Second)
	if el := time.Since(start); el < cfg.Webhook.Timeout {
		t.Errorf("decision after %v, before the timeout", el)
	}
	rej := rejection(t, err, CodeUnauthorized)
	if !errors.Is(err, ErrWebhookTimeout) || !strings.Contains(rej.Reason, "did not answer within 200ms") {
		t.Errorf("rejection = %+v (%v)", rej, err)
	}
	if s := a.Stats(); s.WebhookFailures != 1 || s.WebhookCalls != 1 || s.WebhookLatency < cfg.Webhook.Timeout {
		t.Errorf("stats = %+v", s)
	}
}

func TestWebhookSlowBody(t *testing.T) {
	// Headers arrive at once, the body never ends: the timeout covers the body too.
	release := make(chan struct{})
	hs := newHookServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		fmt.Fprint(w, `{"stream":`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	cfg := webhookConfig(hs.URL)
	cfg.Webhook.Timeout = 200 * time.Millisecond
	a, _ := newAdmitter(t, cfg)
	_, err := admitWithin(t, a, request("live", "cam1"), 1200*time.Millisecond)
	rejection(t, err, CodeUnauthorized)
	if !errors.Is(err, ErrWebhookTimeout) {
		t.Errorf("error = %v, want a timeout", err)
	}
}

func TestWebhookCallerCanceled(t *testing.T) {
	hs := newHookServer(t, hangingHandler(t))
	cfg := webhookConfig(hs.URL)
	cfg.Webhook.Timeout = 5 * time.Second
	a, _ := newAdmitter(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := a.Admit(ctx, request("live", "cam1"))
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Admit took %v after its context was canceled", el)
	}
	rejection(t, err, CodeUnauthorized)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want ErrCanceled", err)
	}
}

func TestWebhookDown(t *testing.T) {
	a, _ := newAdmitter(t, webhookConfig(closedURL(t)))
	_, err := admitWithin(t, a, request("live", "cam1"), 2*time.Second)
	rej := rejection(t, err, CodeUnauthorized)
	if !errors.Is(err, ErrWebhookUnreachable) || !strings.Contains(rej.Reason, "connection refused") {
		t.Errorf("rejection = %+v (%v)", rej, err)
	}
	if strings.Contains(rej.Error(), "hooktoken") {
		t.Errorf("reason leaks the URL's query: %s", rej.Error())
	}
	if rej.Description != descUnavailable {
		t.Errorf("description = %q", rej.Description)
	}
	if s := a.Stats(); s.WebhookFailures != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWebhookClosesConnection(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	a, _ := newAdmitter(t, webhookConfig(hs.URL))
	_, err := admitWithin(t, a, request("live", "cam1"), 2*time.Second)
	rej := rejection(t, err, CodeUnauthorized)
	if !errors.Is(err, ErrWebhookUnreachable) {
		t.Errorf("rejection = %+v (%v)", rej, err)
	}
}

func TestStaticKeysBeforeWebhook(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		fmt.Fprint(w, `{"stream":"from-hook"}`)
	})
	cfg := webhookConfig(hs.URL)
	cfg.Keys = []StaticKey{{App: "live", Stream: "main", Key: secret}}
	a, _ := newAdmitter(t, cfg)

	// A matching static key admits without asking the webhook.
	d, err := a.Admit(context.Background(), request("live", secret))
	if err != nil || d != (Decision{App: "live", Stream: "main", Source: SourceStaticKey}) {
		t.Fatalf("static: %+v, %v", d, err)
	}
	select {
	case r := <-hs.reqs:
		t.Fatalf("webhook called for a static key: %s", r.body)
	default:
	}
	// Any other key, or another app, goes to the webhook.
	for _, app := range []string{"live", "other"} {
		d, err = a.Admit(context.Background(), request(app, "not-the-key"))
		if err != nil || d != (Decision{App: app, Stream: "from-hook", Source: SourceWebhook}) {
			t.Fatalf("%s: %+v, %v", app, d, err)
		}
		if m := decodeJSON(t, hs.next(t).body); m["key"] != "not-the-key" || m["app"] != app {
			t.Errorf("webhook got %v", m)
		}
	}
	if s := a.Stats(); s.AdmittedStaticKey != 1 || s.AdmittedWebhook != 2 || s.WebhookCalls != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestCallerHTTPClientUntouched(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/elsewhere" {
			return // 200, empty: would admit if the redirect were followed
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	client := &http.Client{}
	cfg := webhookConfig(hs.URL)
	cfg.HTTPClient = client
	a, _ := newAdmitter(t, cfg)
	_, err := a.Admit(context.Background(), request("live", "cam1"))
	if !errors.Is(err, ErrWebhookDenied) {
		t.Errorf("redirect: %v, want a denial", err)
	}
	if client.CheckRedirect != nil {
		t.Error("New modified the caller's http.Client")
	}
}

func TestSanitizeDescription(t *testing.T) {
	long := strings.Repeat("é", maxDescription)
	got := sanitizeDescription(long)
	if len(got) > maxDescription || !strings.HasPrefix(long, got) || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("truncation: %d bytes %q", len(got), got[len(got)-4:])
	}
	if got := sanitizeDescription(" a\r\nb\x00c "); got != "a  b c" {
		t.Errorf("control characters: %q", got)
	}
}
