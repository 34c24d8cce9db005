package admission

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an Admitter's counters, all cumulative since New,
// for metrics.
type Stats struct {
	// Admissions by the rule that admitted.
	AdmittedOpen, AdmittedStaticKey, AdmittedWebhook uint64
	// Refusals by onStatus code.
	RejectedBadName, RejectedUnauthorized uint64

	// WebhookCalls counts admission webhook requests sent; WebhookLatency is
	// the sum of their durations (answered or not).
	WebhookCalls   uint64
	WebhookLatency time.Duration
	// WebhookDenials counts answers with a status in 300-499 (refusals).
	WebhookDenials uint64
	// WebhookFailures counts calls without a usable answer: transport
	// errors, timeouts, 5xx, invalid 2xx bodies.
	WebhookFailures uint64

	// NotifyQueued counts events accepted into the queue; NotifyDropped those
	// refused because the queue was full or the Admitter closed.
	NotifyQueued, NotifyDropped uint64
	// NotifyDelivered counts events delivered; NotifyFailed those abandoned
	// after their last attempt (or at Close); NotifyRetries the extra
	// attempts made.
	NotifyDelivered, NotifyFailed, NotifyRetries uint64
}

// Admitted returns the number of admitted publishes.
func (s Stats) Admitted() uint64 { return s.AdmittedOpen + s.AdmittedStaticKey + s.AdmittedWebhook }

// Rejected returns the number of refused publishes.
func (s Stats) Rejected() uint64 { return s.RejectedBadName + s.RejectedUnauthorized }

// counters are the live, lock-free counterparts of Stats.
type counters struct {
	admittedOpen, admittedStatic, admittedWebhook atomic.Uint64
	rejectedBadName, rejectedUnauthorized         atomic.Uint64

	webhookCalls, webhookLatencyNS  atomic.Uint64
	webhookDenials, webhookFailures atomic.Uint64
	notifyQueued, notifyDropped     atomic.Uint64
	notifyDelivered, notifyFailed   atomic.Uint64
	notifyRetries                   atomic.Uint64
}

func (c *counters) admit(s Source) {
	switch s {
	case SourceOpen:
		c.admittedOpen.Add(1)
	case SourceStaticKey:
		c.admittedStatic.Add(1)
	case SourceWebhook:
		c.admittedWebhook.Add(1)
	}
}

func (c *counters) reject(code string) {
	if code == CodeBadName {
		c.rejectedBadName.Add(1)
	} else {
		c.rejectedUnauthorized.Add(1)
	}
}

func (c *counters) webhookCall(d time.Duration) {
	c.webhookCalls.Add(1)
	c.webhookLatencyNS.Add(uint64(max(d, 0)))
}

// Stats returns a snapshot of the counters. It is cheap (a few atomic
// loads); fields are read one by one, so a snapshot taken during activity
// may be off by the events in flight.
func (a *Admitter) Stats() Stats {
	c := &a.stats
	return Stats{
		AdmittedOpen:         c.admittedOpen.Load(),
		AdmittedStaticKey:    c.admittedStatic.Load(),
		AdmittedWebhook:      c.admittedWebhook.Load(),
		RejectedBadName:      c.rejectedBadName.Load(),
		RejectedUnauthorized: c.rejectedUnauthorized.Load(),
		WebhookCalls:         c.webhookCalls.Load(),
		WebhookLatency:       time.Duration(c.webhookLatencyNS.Load()),
		WebhookDenials:       c.webhookDenials.Load(),
		WebhookFailures:      c.webhookFailures.Load(),
		NotifyQueued:         c.notifyQueued.Load(),
		NotifyDropped:        c.notifyDropped.Load(),
		NotifyDelivered:      c.notifyDelivered.Load(),
		NotifyFailed:         c.notifyFailed.Load(),
		NotifyRetries:        c.notifyRetries.Load(),
	}
}
