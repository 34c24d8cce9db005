package admission

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/rs/zerolog"
)

// Request is one publish attempt.
type Request struct {
	// App is the application the publisher connected to; Key is the publish
	// name without its query string.
	App, Key string
	// Query holds the merged query parameters of tcUrl, app and the publish
	// name.
	Query url.Values
	// Remote is the publisher's address, ip:port.
	Remote string
	// Connect is the connect command object (tcUrl, flashVer, ...), with
	// string, float64 and bool values.
	Connect map[string]any
	// ConnID identifies the connection in logs.
	ConnID string
}

// Source says which rule admitted a publish.
type Source int

// Sources.
const (
	// SourceOpen: no keys and no webhook are configured; the key is the stream name.
	SourceOpen Source = iota
	// SourceStaticKey: a static key matched.
	SourceStaticKey
	// SourceWebhook: the admission webhook admitted the publish.
	SourceWebhook
)

// String returns "open", "static_key" or "webhook".
func (s Source) String() string {
	switch s {
	case SourceOpen:
		return "open"
	case SourceStaticKey:
		return "static_key"
	case SourceWebhook:
		return "webhook"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Decision admits a publish under a stream name.
type Decision struct {
	// App and Stream are what viewers see: the playback URL is /{App}/{Stream}/.
	App, Stream string
	// Source is the rule that admitted the publish, for logs and metrics.
	Source Source
}

// keyEntry is a static key, stored as its SHA-256 so that every comparison
// takes the same time whatever the presented key's length and content.
type keyEntry struct {
	app, stream string
	sum         [sha256.Size]byte
}

// Admitter decides publish admissions and posts publish notifications. Its
// methods are safe for concurrent use.
type Admitter struct {
	log     zerolog.Logger
	keys    []keyEntry
	apps    map[string]bool // apps with at least one static key
	webhook *webhook        // nil: no admission webhook
	notify  *notifier       // nil: no notifications
	// ownTransport is the transport New created (nil when the caller gave an
	// HTTPClient); Close releases its idle connections.
	ownTransport *http.Transport
	salt         [32]byte // KeyID's HMAC key, random per Admitter
	stats        counters
	closeOnce    sync.Once
}

// New validates cfg, applies its defaults and returns an Admitter. When
// cfg.Notify.URL is set, it starts the notification worker; Close stops it.
// A configuration error wraps ErrInvalidConfig and names the offending entry
// (by index, app and stream: never by key).
func New(cfg Config) (*Admitter, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Admitter{
		log:  cfg.Logger,
		keys: make([]keyEntry, len(cfg.Keys)),
		apps: make(map[string]bool),
	}
	// crypto/rand.Read never returns an error (Go 1.24+); it panics instead.
	_, _ = rand.Read(a.salt[:])
	for i, k := range cfg.Keys {
		a.keys[i] = keyEntry{app: k.App, stream: k.Stream, sum: sha256.Sum256([]byte(k.Key))}
		a.apps[k.App] = true
		if len(k.Key) < minKeyLen {
			a.log.Warn().Int("entry", i).Str("app", k.App).Str("stream", k.Stream).
				Msgf("stream key shorter than %d characters is easy to guess", minKeyLen)
		}
	}

	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		a.ownTransport = tr
		client = &http.Client{Transport: tr}
	}
	// Copy the client so that the caller's is left untouched, and never
	// follow redirects: a POST turned into a GET by a 302 would be
	// meaningless, and a login page answering 200 must not admit.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c

	if cfg.Webhook.URL != "" {
		a.webhook = newWebhook(cfg.Webhook, client, &a.stats)
	}
	if cfg.Notify.URL != "" {
		a.notify = newNotifier(cfg.Notify, client, a.log, &a.stats)
	}
	return a, nil
}

// Admit decides whether req may publish. It returns the Decision, or a
// *Rejection (matching ErrBadName or ErrUnauthorized with errors.Is). It
// blocks for at most the webhook's timeout, less when ctx ends first.
func (a *Admitter) Admit(ctx context.Context, req *Request) (Decision, error) {
	d, rej := a.admit(ctx, req)
	if rej != nil {
		a.stats.reject(rej.Code)
		// The caller logs the refusal; this line adds the key id, at Debug.
		if ev := a.log.Debug(); ev.Enabled() {
			if req != nil {
				ev = ev.Str("conn", req.ConnID).Str("app", req.App).Str("key_id", a.KeyID(req.Key))
			}
			ev.Str("code", rej.Code).Str("reason", rej.Reason).Msg("publish refused")
		}
		return Decision{}, rej
	}
	a.stats.admit(d.Source)
	if ev := a.log.Debug(); ev.Enabled() {
		ev.Str("conn", req.ConnID).Str("app", d.App).Str("stream", d.Stream).
			Stringer("source", d.Source).Str("key_id", a.KeyID(req.Key)).Msg("publish admitted")
	}
	return d, nil
}

func (a *Admitter) admit(ctx context.Context, req *Request) (Decision, *Rejection) {
	if req == nil {
		return Decision{}, &Rejection{Code: CodeBadName, Description: "invalid publish request", Reason: "nil request"}
	}
	if !ValidName(req.App) {
		return Decision{}, &Rejection{
			Code:        CodeBadName,
			Description: "invalid application name",
			Reason:      fmt.Sprintf("application name %s is not 1-%d characters from [A-Za-z0-9_.-]", quote(req.App), MaxNameLen),
		}
	}
	if req.Key == "" {
		return Decision{}, &Rejection{Code: CodeBadName, Description: "missing stream key", Reason: "empty publish name"}
	}

	if len(a.keys) > 0 {
		if e, ok := a.match(req.App, req.Key); ok {
			return Decision{App: req.App, Stream: e.stream, Source: SourceStaticKey}, nil
		}
		if a.webhook == nil {
			if !a.apps[req.App] {
				return Decision{}, &Rejection{
					Code:        CodeBadName,
					Description: "unknown application",
					Reason:      fmt.Sprintf("no stream keys are configured for application %s", quote(req.App)),
				}
			}
			return Decision{}, &Rejection{
				Code:        CodeUnauthorized,
				Description: "invalid stream key",
				Reason:      fmt.Sprintf("no static key of application %s matches (key id %s)", quote(req.App), a.KeyID(req.Key)),
			}
		}
	}

	if a.webhook != nil {
		return a.webhook.admit(ctx, req, a.KeyID(req.Key))
	}

	// Open mode: the key is the stream name, so it is public and may be quoted.
	if !ValidName(req.Key) {
		return Decision{}, &Rejection{
			Code:        CodeBadName,
			Description: "invalid stream name",
			Reason:      fmt.Sprintf("stream name %s is not 1-%d characters from [A-Za-z0-9_.-]", quote(req.Key), MaxNameLen),
		}
	}
	return Decision{App: req.App, Stream: req.Key, Source: SourceOpen}, nil
}

// match finds the static key entry for (app, key). It compares against every
// entry without stopping early, so its duration does not depend on where, or
// whether, the key matches.
func (a *Admitter) match(app, key string) (keyEntry, bool) {
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range a.keys {
		e := &a.keys[i]
		eq := subtle.ConstantTimeCompare(sum[:], e.sum[:])
		if eq == 1 && e.app == app {
			found = i
		}
	}
	if found < 0 {
		return keyEntry{}, false
	}
	return a.keys[found], true
}

// KeyID returns a short identifier of key for logs: the first 8 hex digits of
// an HMAC-SHA256 under a random per-Admitter secret. The same key gives the
// same ID for the life of the Admitter, so log lines can be correlated, but
// the ID cannot be reversed by hashing guessed keys.
func (a *Admitter) KeyID(key string) string {
	if key == "" {
		return ""
	}
	m := hmac.New(sha256.New, a.salt[:])
	m.Write([]byte(key))
	var buf [sha256.Size]byte
	return hex.EncodeToString(m.Sum(buf[:0])[:4])
}

// NotifyStart queues a publish_start notification. It never blocks; without
// a notify URL it does nothing. ev.Duration, ev.Bytes and ev.Clean are
// ignored.
func (a *Admitter) NotifyStart(ev Event) {
	if a.notify != nil {
		a.notify.enqueue(EventPublishStart, ev)
	}
}

// NotifyStop queues a publish_stop notification. It never blocks; without a
// notify URL it does nothing.
func (a *Admitter) NotifyStop(ev Event) {
	if a.notify != nil {
		a.notify.enqueue(EventPublishStop, ev)
	}
}

// Close stops the notification worker: it waits up to
// NotifyConfig.DrainTimeout for queued notifications to be delivered, then
// abandons the rest. Events queued after Close are dropped. Admit keeps
// working. Close is idempotent.
func (a *Admitter) Close() {
	a.closeOnce.Do(func() {
		if a.notify != nil {
			a.notify.close()
		}
		if a.ownTransport != nil {
			a.ownTransport.CloseIdleConnections()
		}
	})
}
