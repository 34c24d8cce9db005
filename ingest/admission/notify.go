package admission

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Notification event names (NotifyMessage.Event).
const (
	EventPublishStart = "publish_start"
	EventPublishStop  = "publish_stop"
)

// Event describes a publication starting or stopping. It carries no key.
type Event struct {
	// App and Stream are the names viewers see (the Decision's).
	App, Stream string
	// Remote is the publisher's address (ip:port); ConnID its connection.
	Remote, ConnID string
	// Time is when it happened (default: when the event is queued).
	Time time.Time
	// Duration, Bytes and Clean describe a stopped publication: how long it
	// lasted, how many bytes it received, and whether the publisher
	// unpublished (true) or the connection was lost or closed by the server
	// (false).
	Duration time.Duration
	Bytes    int64
	Clean    bool
}

// NotifyMessage is the JSON body POSTed to the notify URL. Any 2xx status
// acknowledges it; its body is ignored.
type NotifyMessage struct {
	// ID is unique per event and repeated on retries, so the receiver can
	// ignore duplicates (a timed-out attempt may still have arrived).
	ID string `json:"id"`
	// Event is EventPublishStart or EventPublishStop.
	Event  string    `json:"event"`
	App    string    `json:"app"`
	Stream string    `json:"stream"`
	Remote string    `json:"remote"`
	ConnID string    `json:"conn_id"`
	Time   time.Time `json:"time"`
	// DurationMS, Bytes and Clean are set for publish_stop only.
	DurationMS *int64 `json:"duration_ms,omitempty"`
	Bytes      *int64 `json:"bytes,omitempty"`
	Clean      *bool  `json:"clean,omitempty"`
}

// notifyJob is one encoded message waiting for delivery.
type notifyJob struct {
	id, event, app, stream string
	body                   []byte
}

// notifier delivers notifications from one worker goroutine, which keeps
// them in order (a stream's stop never overtakes its start) and bounds the
// load on the receiver.
type notifier struct {
	cfg    NotifyConfig
	logURL string
	client *http.Client
	log    zerolog.Logger
	stats  *counters

	mu     sync.RWMutex // guards closed against concurrent sends on queue
	closed bool
	queue  chan notifyJob

	ctx    context.Context // canceled when Close gives up draining
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
}

func newNotifier(cfg NotifyConfig, client *http.Client, log zerolog.Logger, stats *counters) *notifier {
	u, _ := url.Parse(cfg.URL) // validated by New
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{
		cfg:    cfg,
		logURL: redactURL(u),
		client: client,
		log:    log,
		stats:  stats,
		queue:  make(chan notifyJob, cfg.QueueSize),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go n.run()
	return n
}

// enqueue encodes and queues an event without ever blocking.
func (n *notifier) enqueue(kind string, ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	msg := NotifyMessage{
		ID:     newEventID(),
		Event:  kind,
		App:    ev.App,
		Stream: ev.Stream,
		Remote: ev.Remote,
		ConnID: ev.ConnID,
		Time:   ev.Time.UTC(),
	}
	if kind == EventPublishStop {
		ms, bytes, clean := ev.Duration.Milliseconds(), ev.Bytes, ev.Clean
		msg.DurationMS, msg.Bytes, msg.Clean = &ms, &bytes, &clean
	}
	body, err := json.Marshal(msg)
	if err != nil {
		// Unreachable: every field is a string, number, bool or time.
		n.stats.notifyDropped.Add(1)
		n.log.Warn().Err(err).Str("event", kind).Msg("cannot encode notification")
		return
	}
	job := notifyJob{id: msg.ID, event: kind, app: ev.App, stream: ev.Stream, body: body}

	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		n.stats.notifyDropped.Add(1)
		n.log.Debug().Str("event", kind).Str("app", ev.App).Str("stream", ev.Stream).
			Msg("notification dropped: admitter closed")
		return
	}
	select {
	case n.queue <- job:
		n.stats.notifyQueued.Add(1)
	default:
		n.stats.notifyDropped.Add(1)
		n.log.Warn().Str("event", kind).Str("app", ev.App).Str("stream", ev.Stream).
			Int("queue", cap(n.queue)).Msg("notification dropped: queue full")
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for job := range n.queue {
		if n.ctx.Err() != nil {
			n.stats.notifyFailed.Add(1)
			continue
		}
		n.deliver(job)
	}
}

// deliver posts job, retrying with exponential back-off.
func (n *notifier) deliver(job notifyJob) {
	backoff := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := n.post(job)
		if err == nil {
			n.stats.notifyDelivered.Add(1)
			return
		}
		if !retry || attempt > n.cfg.Retries || !n.sleep(backoff) {
			n.stats.notifyFailed.Add(1)
			n.log.Warn().Err(err).Str("url", n.logURL).Str("event", job.event).Str("id", job.id).
				Str("app", job.app).Str("stream", job.stream).Int("attempts", attempt).
				Msg("notification not delivered")
			return
		}
		n.log.Debug().Err(err).Str("id", job.id).Int("attempt", attempt).Msg("notification attempt failed, retrying")
		n.stats.notifyRetries.Add(1)
		backoff *= 2
	}
}

// sleep waits for d; it returns false if the notifier was canceled first.
func (n *notifier) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// errNotifyStatus is a non-2xx answer from the notify URL.
var errNotifyStatus = errors.New("notify endpoint answered")

// post makes one delivery attempt; retry says whether another may succeed.
func (n *notifier) post(job notifyJob) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(job.body))
	if err != nil {
		return false, fmt.Errorf("building the request: %w", err)
	}
	setHeaders(req, n.cfg.Headers)
	resp, err := n.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) { // its text repeats the URL, which may carry a token
			err = uerr.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && n.ctx.Err() == nil {
			return true, fmt.Errorf("no answer within %v", n.cfg.Timeout)
		}
		return true, err
	}
	// Drain a little so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		return false, nil
	case s == http.StatusTooManyRequests, s >= 500:
		return true, fmt.Errorf("%w %d %s", errNotifyStatus, s, http.StatusText(s))
	default:
		return false, fmt.Errorf("%w %d %s", errNotifyStatus, s, http.StatusText(s))
	}
}

// close stops accepting events, lets the worker drain the queue for up to
// DrainTimeout, then cancels what remains and waits for the worker, which
// then returns promptly (every wait in it watches n.ctx).
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	close(n.queue)
	n.mu.Unlock()

	t := time.NewTimer(n.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-n.done:
	case <-t.C:
		n.log.Warn().Int("pending", len(n.queue)).Dur("drain_timeout", n.cfg.DrainTimeout).
			Msg("abandoning undelivered notifications at close")
		n.cancel()
		<-n.done
	}
	n.cancel()
}

// newEventID returns 16 random hex digits.
func newEventID() string {
	var b [8]byte
	// crypto/rand.Read never returns an error (Go 1.24+); it panics instead.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
