package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// WebhookRequest is the JSON body POSTed to the admission webhook.
type WebhookRequest struct {
	// Action is always "publish".
	Action string `json:"action"`
	// App is the application the publisher connected to.
	App string `json:"app"`
	// Key is the publish name without its query string: the secret the
	// webhook checks.
	Key string `json:"key"`
	// Query holds the merged query parameters of tcUrl, app and the publish
	// name; never null.
	Query map[string][]string `json:"query"`
	// Remote is the publisher's address (ip:port) and IP its host part.
	Remote string `json:"remote"`
	IP     string `json:"ip"`
	// ConnID identifies the connection in the gateway's logs.
	ConnID string `json:"conn_id"`
	// Connect is the RTMP connect command object (app, tcUrl, flashVer,
	// type...); never null. Non-finite numbers are sent as null.
	Connect map[string]any `json:"connect"`
}

// WebhookResponse is the optional JSON body of an admission webhook's
// answer. Unknown fields are ignored.
//
// On a 2xx status, an empty body (or {}) admits the publish under its key
// and app; Stream (and App) rename it, so the key need not appear in the
// playback URL. Any other body (text, HTML, a JSON array...) refuses the
// publish: a misconfigured URL that lands on some web page answering 200
// must not admit everyone.
//
// On any other status, Description, if set, is sent to the publisher.
type WebhookResponse struct {
	App         string `json:"app,omitempty"`
	Stream      string `json:"stream,omitempty"`
	Description string `json:"description,omitempty"`
}

const (
	// maxResponseBody bounds the webhook answer read into memory.
	maxResponseBody = 64 << 10
	// maxDescription bounds a webhook-supplied description sent to the
	// publisher in an onStatus.
	maxDescription = 256
	userAgent      = "livegate-gateway"
)

// descUnavailable is what the publisher reads when the webhook failed:
// unlike a refusal, retrying later may help.
const descUnavailable = "publish not authorized: authorization service unavailable"

type webhook struct {
	url     string
	logURL  string // redacted
	timeout time.Duration
	headers map[string]string
	client  *http.Client
	stats   *counters
}

func newWebhook(cfg WebhookConfig, client *http.Client, stats *counters) *webhook {
	u, _ := url.Parse(cfg.URL) // validated by New
	return &webhook{
		url:     cfg.URL,
		logURL:  redactURL(u),
		timeout: cfg.Timeout,
		headers: cfg.Headers,
		client:  client,
		stats:   stats,
	}
}

// admit asks the webhook about req. keyID stands in for the key in reasons.
func (w *webhook) admit(ctx context.Context, req *Request, keyID string) (Decision, *Rejection) {
	body, err := json.Marshal(newWebhookRequest(req))
	if err != nil {
		// Unreachable: every value is sanitized.
		return Decision{}, &Rejection{Code: CodeUnauthorized, Description: descUnavailable,
			Reason: fmt.Sprintf("cannot encode the webhook request: %v", err)}
	}

	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(callCtx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Decision{}, &Rejection{Code: CodeUnauthorized, Description: descUnavailable,
			Reason: fmt.Sprintf("cannot build the webhook request to %s: %v", w.logURL, err)}
	}
	setHeaders(hreq, w.headers)

	start := time.Now()
	status, respBody, err := w.do(hreq)
	w.stats.webhookCall(time.Since(start))
	if err != nil {
		w.stats.webhookFailures.Add(1)
		return Decision{}, w.transportRejection(ctx, err)
	}

	if status < 200 || status > 299 {
		cause, desc := ErrWebhookDenied, "publish not authorized"
		if status >= 500 {
			w.stats.webhookFailures.Add(1)
			cause, desc = ErrWebhookStatus, descUnavailable
		} else {
			w.stats.webhookDenials.Add(1)
		}
		reason := fmt.Sprintf("webhook %s answered %d %s (key id %s)", w.logURL, status, http.StatusText(status), keyID)
		var wr WebhookResponse
		if json.Unmarshal(respBody, &wr) == nil && wr.Description != "" {
			desc = sanitizeDescription(wr.Description)
			reason += ": " + desc
		}
		return Decision{}, &Rejection{
			Code:        CodeUnauthorized,
			Description: desc,
			Reason:      reason,
			Err:         fmt.Errorf("%w: status %d", cause, status),
		}
	}

	d, why := decide(req, respBody)
	if why != "" {
		w.stats.webhookFailures.Add(1)
		return Decision{}, &Rejection{
			Code:        CodeUnauthorized,
			Description: descUnavailable,
			Reason:      fmt.Sprintf("webhook %s answered %d with an invalid body: %s", w.logURL, status, why),
			Err:         fmt.Errorf("%w: %s", ErrWebhookBadResponse, why),
		}
	}
	if !ValidName(d.Stream) {
		// The webhook admitted but named no stream, and the key cannot serve
		// as one. The key is secret here: do not quote it.
		return Decision{}, &Rejection{
			Code:        CodeBadName,
			Description: "invalid stream name",
			Reason: fmt.Sprintf("webhook admitted key id %s without naming a stream, and the key is not 1-%d characters from [A-Za-z0-9_.-]",
				keyID, MaxNameLen),
		}
	}
	return d, nil
}

// do sends hreq and reads a bounded body.
func (w *webhook) do(hreq *http.Request) (int, []byte, error) {
	resp, err := w.client.Do(hreq)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the response body: %w", err)
	}
	return resp.StatusCode, body, nil
}

// decide interprets a 2xx body. It returns a reason when the body is
// unusable; the returned Decision's Stream may still need validation (it
// is the key when the webhook named no stream).
func decide(req *Request, body []byte) (Decision, string) {
	d := Decision{App: req.App, Stream: req.Key, Source: SourceWebhook}
	if len(body) > maxResponseBody {
		return d, fmt.Sprintf("larger than %d bytes", maxResponseBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return d, ""
	}
	var wr WebhookResponse
	if err := json.Unmarshal(body, &wr); err != nil {
		return d, fmt.Sprintf("not a JSON object: %v", err)
	}
	if wr.App != "" {
		if !ValidName(wr.App) {
			return d, fmt.Sprintf("app %s is not 1-%d characters from [A-Za-z0-9_.-]", quote(wr.App), MaxNameLen)
		}
		d.App = wr.App
	}
	if wr.Stream != "" {
		if !ValidName(wr.Stream) {
			return d, fmt.Sprintf("stream %s is not 1-%d characters from [A-Za-z0-9_.-]", quote(wr.Stream), MaxNameLen)
		}
		d.Stream = wr.Stream
	}
	return d, ""
}

// transportRejection describes a request that got no HTTP answer. ctx is
// the caller's context, to tell our timeout from the publisher leaving.
func (w *webhook) transportRejection(ctx context.Context, err error) *Rejection {
	// url.Error repeats the full URL, which may carry a token.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	rej := &Rejection{Code: CodeUnauthorized, Description: descUnavailable}
	var (
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case ctx.Err() != nil:
		rej.Reason = fmt.Sprintf("publisher went away while waiting for webhook %s", w.logURL)
		rej.Err = fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		rej.Reason = fmt.Sprintf("webhook %s did not answer within %v", w.logURL, w.timeout)
		rej.Err = fmt.Errorf("%w after %v", ErrWebhookTimeout, w.timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		rej.Reason = fmt.Sprintf("webhook %s: connection refused", w.logURL)
		rej.Err = fmt.Errorf("%w: %w", ErrWebhookUnreachable, err)
	case errors.As(err, &dnsErr):
		rej.Reason = fmt.Sprintf("webhook %s: cannot resolve %s", w.logURL, dnsErr.Name)
		rej.Err = fmt.Errorf("%w: %w", ErrWebhookUnreachable, err)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		rej.Reason = fmt.Sprintf("webhook %s closed the connection without a complete answer", w.logURL)
		rej.Err = fmt.Errorf("%w: %w", ErrWebhookUnreachable, err)
	default:
		rej.Reason = fmt.Sprintf("webhook %s: %v", w.logURL, err)
		rej.Err = fmt.Errorf("%w: %w", ErrWebhookUnreachable, err)
	}
	return rej
}

// newWebhookRequest builds the JSON body for req, with no null collections
// and nothing json.Marshal could refuse.
func newWebhookRequest(req *Request) WebhookRequest {
	q := make(map[string][]string, len(req.Query))
	for k, v := range req.Query {
		q[k] = v
	}
	ip := req.Remote
	if host, _, err := net.SplitHostPort(req.Remote); err == nil {
		ip = host
	}
	return WebhookRequest{
		Action:  "publish",
		App:     req.App,
		Key:     req.Key,
		Query:   q,
		Remote:  req.Remote,
		IP:      ip,
		ConnID:  req.ConnID,
		Connect: sanitizeObject(req.Connect, 0),
	}
}

// maxDepth bounds the nesting of connect values copied into the request.
const maxDepth = 8

// sanitizeObject copies m for JSON: non-finite numbers (AMF0 allows NaN and
// infinities, JSON does not) become null, and values JSON cannot represent
// become their fmt text. It never returns nil.
func sanitizeObject(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = sanitizeValue(v, depth+1)
	}
	return out
}

func sanitizeValue(v any, depth int) any {
	if depth > maxDepth {
		return nil
	}
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case float32:
		return sanitizeValue(float64(x), depth)
	case map[string]any:
		return sanitizeObject(x, depth)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sanitizeValue(e, depth+1)
		}
		return out
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// sanitizeDescription makes a webhook-supplied text safe to send to the
// publisher and to log: printable, one line, bounded.
func sanitizeDescription(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxDescription {
		// Cut on a rune boundary.
		cut := maxDescription
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// setHeaders sets the configured headers, then the ones the protocol needs.
func setHeaders(r *http.Request, h map[string]string) {
	for k, v := range h {
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", userAgent)
	}
}
