package admission

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"
)

// StaticKey admits publishers that present Key on App under the stream name
// Stream: the publisher uses rtmp://host/{App}/{Key}, viewers use
// /{App}/{Stream}/.
type StaticKey struct {
	App, Stream, Key string
}

// WebhookConfig configures the admission webhook. An empty URL disables it.
type WebhookConfig struct {
	// URL receives a POST of a WebhookRequest (http or https).
	URL string
	// Timeout bounds one admission call, body included (default 3s).
	Timeout time.Duration
	// Headers are added to every request, e.g. an Authorization header.
	Headers map[string]string
}

// NotifyConfig configures the publish start/stop notifications. An empty URL
// disables them.
type NotifyConfig struct {
	// URL receives a POST of a NotifyMessage (http or https).
	URL string
	// Timeout bounds one delivery attempt (default 3s).
	Timeout time.Duration
	// Retries is the number of further attempts after a failed delivery
	// (default 3; negative: none). Transport errors, timeouts, 429 and 5xx
	// are retried; other statuses are not.
	Retries int
	// Backoff is the wait before the first retry, doubled for each further
	// one (default 250ms).
	Backoff time.Duration
	// QueueSize bounds the events waiting for delivery (default 256); when
	// the queue is full, new events are dropped with a warning.
	QueueSize int
	// DrainTimeout bounds how long Close waits for queued and in-flight
	// notifications before abandoning them (default 5s).
	DrainTimeout time.Duration
	// Headers are added to every request, e.g. an Authorization header.
	Headers map[string]string
}

// Config configures an Admitter. Zero values take the documented defaults;
// the zero Config admits every publish under its key (see the package doc).
type Config struct {
	// Keys are the static stream keys. Each key must be unique, and each
	// (App, Stream) pair may appear only once.
	Keys []StaticKey
	// Webhook is the admission webhook, consulted when no static key matches.
	Webhook WebhookConfig
	// Notify receives publish start and stop events.
	Notify NotifyConfig
	// Logger receives configuration warnings and notification failures
	// (Warn), and decisions (Debug). It never receives a key.
	Logger zerolog.Logger
	// HTTPClient makes webhook and notify requests (default: a client with
	// its own transport). Redirects are never followed: a webhook that
	// redirects is treated as refusing.
	HTTPClient *http.Client
}

// Defaults applied by New to zero fields.
const (
	DefaultWebhookTimeout = 3 * time.Second
	DefaultNotifyTimeout  = 3 * time.Second
	DefaultNotifyRetries  = 3
	DefaultNotifyBackoff  = 250 * time.Millisecond
	DefaultQueueSize      = 256
	DefaultDrainTimeout   = 5 * time.Second
)

// minKeyLen is the length below which New warns that a key is guessable.
const minKeyLen = 12

func (c *Config) applyDefaults() {
	if c.Webhook.Timeout == 0 {
		c.Webhook.Timeout = DefaultWebhookTimeout
	}
	if c.Notify.Timeout == 0 {
		c.Notify.Timeout = DefaultNotifyTimeout
	}
	switch {
	case c.Notify.Retries == 0:
		c.Notify.Retries = DefaultNotifyRetries
	case c.Notify.Retries < 0:
		c.Notify.Retries = 0
	}
	if c.Notify.Backoff == 0 {
		c.Notify.Backoff = DefaultNotifyBackoff
	}
	if c.Notify.QueueSize == 0 {
		c.Notify.QueueSize = DefaultQueueSize
	}
	if c.Notify.DrainTimeout == 0 {
		c.Notify.DrainTimeout = DefaultDrainTimeout
	}
}

// validate checks a Config whose defaults are applied. It reports every
// problem, each naming its entry, joined into one error.
func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}

	keyAt := make(map[string]int, len(c.Keys))
	pairAt := make(map[[2]string]int, len(c.Keys))
	for i, k := range c.Keys {
		// Name entries by index, app and stream: never by key.
		name := fmt.Sprintf("keys[%d] (app %s, stream %s)", i, quote(k.App), quote(k.Stream))
		if !ValidName(k.App) {
			bad("%s: app must be 1-%d characters from [A-Za-z0-9_.-], not \".\" or \"..\"", name, MaxNameLen)
		}
		if !ValidName(k.Stream) {
			bad("%s: stream must be 1-%d characters from [A-Za-z0-9_.-], not \".\" or \"..\"", name, MaxNameLen)
		}
		if why := checkKey(k.Key); why != "" {
			bad("%s: %s", name, why)
		} else if j, dup := keyAt[k.Key]; dup {
			bad("%s: duplicate key (the same key as keys[%d])", name, j)
		} else {
			keyAt[k.Key] = i
		}
		pair := [2]string{k.App, k.Stream}
		if j, dup := pairAt[pair]; dup {
			bad("%s: duplicate app/stream pair (also keys[%d])", name, j)
		} else {
			pairAt[pair] = i
		}
	}

	if c.Webhook.URL != "" {
		if err := checkURL(c.Webhook.URL); err != nil {
			bad("webhook.url: %v", err)
		}
	}
	if c.Webhook.Timeout < 0 {
		bad("webhook.timeout: negative (%v)", c.Webhook.Timeout)
	}
	for _, err := range checkHeaders(c.Webhook.Headers) {
		bad("webhook.headers: %v", err)
	}

	if c.Notify.URL != "" {
		if err := checkURL(c.Notify.URL); err != nil {
			bad("notify.url: %v", err)
		}
	}
	if c.Notify.Timeout < 0 {
		bad("notify.timeout: negative (%v)", c.Notify.Timeout)
	}
	if c.Notify.Backoff < 0 {
		bad("notify.backoff: negative (%v)", c.Notify.Backoff)
	}
	if c.Notify.QueueSize < 0 {
		bad("notify.queue_size: negative (%d)", c.Notify.QueueSize)
	}
	if c.Notify.DrainTimeout < 0 {
		bad("notify.drain_timeout: negative (%v)", c.Notify.DrainTimeout)
	}
	for _, err := range checkHeaders(c.Notify.Headers) {
		bad("notify.headers: %v", err)
	}
	return errors.Join(errs...)
}

// checkURL accepts absolute http and https URLs with a host. Its errors
// show the URL redacted (see redactURL): it may carry a token.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("cannot parse the URL: %w", errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: scheme must be http or https", redactURL(u))
	}
	if u.Host == "" {
		return fmt.Errorf("%s: no host", redactURL(u))
	}
	return nil
}

// checkHeaders reports header names that are not HTTP tokens and values
// with control characters (which would split or corrupt the request).
func checkHeaders(h map[string]string) []error {
	var errs []error
	for k, v := range h {
		if !isToken(k) {
			errs = append(errs, fmt.Errorf("header name %q is not a valid HTTP token", k))
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				errs = append(errs, fmt.Errorf("header %q: value contains a control character", k))
				break
			}
		}
	}
	return errs
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && c > 0x20 && c != 0x7f && !isSeparator(c):
		default:
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '"':
		return true
	}
	return false
}

// redactURL returns u without credentials or query: either may carry a
// token, and the URL ends up in logs and rejection reasons.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery = ""
	r.ForceQuery = false
	r.Fragment = ""
	r.RawFragment = ""
	return r.String()
}
