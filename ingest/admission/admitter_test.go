package admission

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"live", true},
		{"cam-1_HD.v2", true},
		{strings.Repeat("a", MaxNameLen), true},
		{"...", true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("a", MaxNameLen+1), false},
		{"a/b", false},
		{"a b", false},
		{"a?b", false},
		{"a%2Fb", false},
		{"caméra", false},
		{"a\x00", false},
	}
	for _, c := range cases {
		if got := ValidName(c.name); got != c.ok {
			t.Errorf("ValidName(%q) = %v, want %v", c.name, got, c.ok)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"live", "", ".", "..", "a/b", "x.y-z_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidName(s) {
			return
		}
		// A valid name is one path segment that no resolver rewrites.
		if strings.ContainsAny(s, "/\\?#% ") || s == "." || s == ".." || len(s) > MaxNameLen {
			t.Fatalf("ValidName accepted %q", s)
		}
	})
}

func TestOpenMode(t *testing.T) {
	a, _ := newAdmitter(t, Config{})
	d, err := a.Admit(context.Background(), request("live", "mystream"))
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	if want := (Decision{App: "live", Stream: "mystream", Source: SourceOpen}); d != want {
		t.Fatalf("decision = %+v, want %+v", d, want)
	}

	bad := []struct{ app, key, code string }{
		{"live", "..", CodeBadName},
		{"live", ".", CodeBadName},
		{"live", "a/b", CodeBadName},
		{"live", strings.Repeat("k", MaxNameLen+1), CodeBadName},
		{"live", "", CodeBadName},
		{"", "cam", CodeBadName},
		{"..", "cam", CodeBadName},
		{"li ve", "cam", CodeBadName},
	}
	for _, c := range bad {
		_, err := a.Admit(context.Background(), request(c.app, c.key))
		rej := rejection(t, err, c.code)
		if !errors.Is(err, ErrBadName) || errors.Is(err, ErrUnauthorized) {
			t.Errorf("%q/%q: errors.Is mismatch for %v", c.app, c.key, err)
		}
		if !strings.Contains(rej.Error(), c.code) {
			t.Errorf("Error() = %q lacks the code", rej.Error())
		}
	}
	if _, err := a.Admit(context.Background(), nil); !errors.Is(err, ErrBadName) {
		t.Errorf("nil request: %v", err)
	}

	s := a.Stats()
	if s.AdmittedOpen != 1 || s.RejectedBadName != uint64(len(bad)+1) || s.Admitted() != 1 || s.Rejected() != s.RejectedBadName {
		t.Errorf("stats = %+v", s)
	}
}

func staticConfig() Config {
	return Config{Keys: []StaticKey{
		{App: "live", Stream: "main", Key: secret},
		{App: "live", Stream: "backup", Key: "another-long-secret-1"},
		{App: "studio", Stream: "main", Key: "studio-long-secret-22"},
	}}
}

func TestStaticKeys(t *testing.T) {
	a, logs := newAdmitter(t, staticConfig())
	ctx := context.Background()

	cases := []struct {
		app, key string
		want     Decision
		code     string
	}{
		{"live", secret, Decision{App: "live", Stream: "main", Source: SourceStaticKey}, ""},
		{"live", "another-long-secret-1", Decision{App: "live", Stream: "backup", Source: SourceStaticKey}, ""},
		{"studio", "studio-long-secret-22", Decision{App: "studio", Stream: "main", Source: SourceStaticKey}, ""},
		// The key of another app does not open this one.
		{"studio", secret, Decision{}, CodeUnauthorized},
		{"live", secret + "x", Decision{}, CodeUnauthorized},
		{"live", secret[:len(secret)-1], Decision{}, CodeUnauthorized},
		// The stream name is not a key.
		{"live", "main", Decision{}, CodeUnauthorized},
		{"other", secret, Decision{}, CodeBadName},
		{"live", "", Decision{}, CodeBadName},
	}
	for _, c := range cases {
		d, err := a.Admit(ctx, request(c.app, c.key))
		if c.code == "" {
			if err != nil || d != c.want {
				t.Errorf("%s/%q: got %+v, %v; want %+v", c.app, c.key, d, err, c.want)
			}
			continue
		}
		rej := rejection(t, err, c.code)
		if c.code == CodeUnauthorized {
			if rej.Description != "invalid stream key" || !errors.Is(err, ErrUnauthorized) {
				t.Errorf("%s/%q: rejection %+v", c.app, c.key, rej)
			}
			if !strings.Contains(rej.Reason, a.KeyID(c.key)) {
				t.Errorf("reason %q lacks the key id", rej.Reason)
			}
		}
		if strings.Contains(rej.Error(), secret) {
			t.Errorf("rejection leaks the key: %q", rej.Error())
		}
	}
	s := a.Stats()
	if s.AdmittedStaticKey != 3 || s.RejectedUnauthorized != 4 || s.RejectedBadName != 2 {
		t.Errorf("stats = %+v", s)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("logs leak the key:\n%s", logs)
	}
}

func TestKeyID(t *testing.T) {
	a, _ := newAdmitter(t, Config{})
	b, _ := newAdmitter(t, Config{})
	id := a.KeyID(secret)
	if len(id) != 8 || strings.Contains(secret, id) {
		t.Fatalf("KeyID = %q", id)
	}
	if a.KeyID(secret) != id {
		t.Error("KeyID is not stable")
	}
	if a.KeyID(secret+"x") == id {
		t.Error("KeyID collides on neighbouring keys")
	}
	if b.KeyID(secret) == id {
		t.Error("KeyID is the same across Admitters: it is not salted")
	}
	if a.KeyID("") != "" {
		t.Error("KeyID of the empty key")
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"duplicate key", Config{Keys: []StaticKey{
			{App: "live", Stream: "a", Key: "same-long-secret"},
			{App: "live", Stream: "b", Key: "same-long-secret"},
		}}, []string{`keys[1] (app "live", stream "b")`, "duplicate key", "keys[0]"}},
		{"duplicate key across apps", Config{Keys: []StaticKey{
			{App: "live", Stream: "a", Key: "same-long-secret"},
			{App: "studio", Stream: "a", Key: "same-long-secret"},
		}}, []string{`keys[1] (app "studio", stream "a")`, "duplicate key"}},
		{"duplicate pair", Config{Keys: []StaticKey{
			{App: "live", Stream: "a", Key: "first-long-secret"},
			{App: "live", Stream: "a", Key: "second-long-secret"},
		}}, []string{`keys[1] (app "live", stream "a")`, "duplicate app/stream pair", "keys[0]"}},
		{"empty app", Config{Keys: []StaticKey{{Stream: "a", Key: "first-long-secret"}}},
			[]string{`keys[0] (app "", stream "a"): app must be`}},
		{"bad stream", Config{Keys: []StaticKey{{App: "live", Stream: "../x", Key: "first-long-secret"}}},
			[]string{`keys[0] (app "live", stream "../x"): stream must be`}},
		{"empty key", Config{Keys: []StaticKey{{App: "live", Stream: "a"}}},
			[]string{`keys[0] (app "live", stream "a"): empty key`}},
		{"key with query", Config{Keys: []StaticKey{{App: "live", Stream: "a", Key: "abc?def-long"}}},
			[]string{`keys[0]`, "'?'"}},
		{"key with space", Config{Keys: []StaticKey{{App: "live", Stream: "a", Key: "abc def-long"}}},
			[]string{`keys[0]`, "space"}},
		{"webhook scheme", Config{Webhook: WebhookConfig{URL: "ftp://127.0.0.1/hook"}},
			[]string{"webhook.url", "scheme"}},
		{"webhook relative", Config{Webhook: WebhookConfig{URL: "/hook"}},
			[]string{"webhook.url"}},
		{"webhook unparsable", Config{Webhook: WebhookConfig{URL: "http://[::1"}},
			[]string{"webhook.url"}},
		{"webhook no host", Config{Webhook: WebhookConfig{URL: "http:///hook"}},
			[]string{"webhook.url", "no host"}},
		{"webhook timeout", Config{Webhook: WebhookConfig{URL: "http://127.0.0.1/", Timeout: -time.Second}},
			[]string{"webhook.timeout"}},
		{"webhook header", Config{Webhook: WebhookConfig{URL: "http://127.0.0.1/", Headers: map[string]string{"Bad Name": "x"}}},
			[]string{"webhook.headers", `"Bad Name"`}},
		{"webhook header value", Config{Webhook: WebhookConfig{URL: "http://127.0.0.1/", Headers: map[string]string{"Authorization": "a\r\nX: y"}}},
			[]string{"webhook.headers", "control character"}},
		{"notify url", Config{Notify: NotifyConfig{URL: "127.0.0.1:80"}},
			[]string{"notify.url"}},
		{"notify negatives", Config{Notify: NotifyConfig{URL: "http://127.0.0.1/", Timeout: -1, Backoff: -1, QueueSize: -1, DrainTimeout: -1}},
			[]string{"notify.timeout", "notify.backoff", "notify.queue_size", "notify.drain_timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, k := range c.cfg.Keys {
				if k.Key != "" && strings.Contains(err.Error(), k.Key) {
					t.Errorf("error %q names a key", err)
				}
			}
		})
	}

	// Every problem is reported, not just the first.
	_, err := New(Config{Keys: []StaticKey{{App: "", Stream: "a", Key: "k1-long-secret"}, {App: "live", Stream: "", Key: "k2-long-secret"}}})
	if err == nil || !strings.Contains(err.Error(), "keys[0]") || !strings.Contains(err.Error(), "keys[1]") {
		t.Errorf("joined errors: %v", err)
	}
	// A token in the URL's query or userinfo is not echoed.
	_, err = New(Config{Webhook: WebhookConfig{URL: "ftp://user:pw@127.0.0.1/hook?token=tok123"}})
	if err == nil || strings.Contains(err.Error(), "tok123") || strings.Contains(err.Error(), "pw") {
		t.Errorf("URL error leaks credentials: %v", err)
	}
}

func TestShortKeyWarning(t *testing.T) {
	_, logs := newAdmitter(t, Config{Keys: []StaticKey{{App: "live", Stream: "a", Key: "short"}}})
	if !strings.Contains(logs.String(), "easy to guess") || strings.Contains(logs.String(), `"short"`) {
		t.Errorf("logs = %s", logs)
	}
}

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{SourceOpen: "open", SourceStaticKey: "static_key", SourceWebhook: "webhook", Source(9): "Source(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", int(s), s.String())
		}
	}
}

func BenchmarkAdmitStatic(b *testing.B) {
	cfg := Config{}
	for i := range 100 {
		cfg.Keys = append(cfg.Keys, StaticKey{App: "live", Stream: "s" + string(rune('a'+i%26)) + strings.Repeat("x", i), Key: secret + strings.Repeat("k", i)})
	}
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	req := request("live", secret+strings.Repeat("k", 50))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Admit(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
