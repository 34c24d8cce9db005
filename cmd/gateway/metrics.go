package main

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/httpserver"
	"github.com/livegate/gateway/ingest/admission"
)

// Metrics are read from the components' counters at scrape time (a custom
// prometheus.Collector): nothing on the media or request path does more
// than atomic increments for them. Per-stream series exist only for the
// streams the hls.Manager holds, so they go away when a stream is freed.

// metricsNamespace prefixes every metric of the gateway.
const metricsNamespace = "livegate"

// publishCounters count publish attempts by outcome.
type publishCounters struct {
	admittedOpen, admittedKey, admittedWebhook  atomic.Uint64
	rejectedBadName, rejectedUnauthorized, busy atomic.Uint64
	failed                                      atomic.Uint64
}

func (c *publishCounters) admitted(src admission.Source) {
	switch src {
	case admission.SourceStaticKey:
		c.admittedKey.Add(1)
	case admission.SourceWebhook:
		c.admittedWebhook.Add(1)
	default:
		c.admittedOpen.Add(1)
	}
}

// rejected counts an admission refusal by its onStatus code.
func (c *publishCounters) rejected(code string) {
	if code == admission.CodeBadName {
		c.rejectedBadName.Add(1)
	} else {
		c.rejectedUnauthorized.Add(1)
	}
}

// refusedBySegmenter counts a refusal of hls.Manager.Publish.
func (c *publishCounters) refusedBySegmenter(err error) {
	switch {
	case errors.Is(err, hls.ErrStreamBusy), errors.Is(err, hls.ErrTooManyStreams):
		c.busy.Add(1)
	case errors.Is(err, hls.ErrInvalidName):
		c.rejectedBadName.Add(1)
	default:
		c.failed.Add(1)
	}
}

// newMetricsRegistry returns a private registry with the gateway's
// collector and the Go runtime and process collectors.
func newMetricsRegistry(a *App) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newGatewayCollector(a),
	)
	return reg
}

// metricsHandler returns the /metrics handler.
func (a *App) metricsHandler(log zerolog.Logger) http.Handler {
	reg := newMetricsRegistry(a)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg, // promhttp_metric_handler_errors_total
	})
}

// promLogger routes promhttp's errors to zerolog.
type promLogger struct{ l zerolog.Logger }

func (p promLogger) Println(v ...any) { p.l.Error().Msg(fmt.Sprint(v...)) }

// gatewayCollector reads every component's counters at scrape time.
type gatewayCollector struct {
	a *App

	rtmpOpen, rtmpAccepted, rtmpRefused *prometheus.Desc
	publishes                           *prometheus.Desc
	streams                             *prometheus.Desc

	streamLive, streamBytesIn, streamFramesIn     *prometheus.Desc
	streamBytesOut, streamViewers, streamSegments *prometheus.Desc
	renditionLive                                 *prometheus.Desc

	segments, parts, dropped *prometheus.Desc

	httpRequests, httpBytes                          *prometheus.Desc
	blockingInFlight, blockingWait                   *prometheus.Desc
	blockingTimeouts, blockingRejected               *prometheus.Desc
	webhookDuration, webhookFailures, webhookDenials *prometheus.Desc
	notifyEvents, notifyRetries                      *prometheus.Desc
}

func newGatewayCollector(a *App) *gatewayCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metricsNamespace+"_"+name, help, labels, nil)
	}
	stream := []string{"app", "stream"}
	return &gatewayCollector{
		a:            a,
		rtmpOpen:     d("rtmp_connections_open", "RTMP and RTMPS connections open now."),
		rtmpAccepted: d("rtmp_connections_total", "RTMP and RTMPS connections accepted."),
		rtmpRefused:  d("rtmp_connections_refused_total", "Connections closed at once because rtmp.maxConnections were open."),
		publishes: d("publish_attempts_total", "Publish attempts by result: admitted_open, admitted_key, admitted_webhook, "+
			"rejected_badname, rejected_unauthorized, rejected_busy (stream already publishing under hls.takeover=reject, "+
			"or hls.maxStreams reached), failed.", "result"),
		streams:        d("streams", "Streams held, by state: live, waiting (for the publisher to reconnect), ended (retained).", "state"),
		streamLive:     d("stream_live", "1 while the stream has a live publisher.", stream...),
		streamBytesIn:  d("stream_received_bytes_total", "Media bytes received from the stream's publishers.", stream...),
		streamFramesIn: d("stream_received_frames_total", "Media messages (audio and video frames) received from the stream's publishers.", stream...),
		streamBytesOut: d("stream_sent_bytes_total", "Bytes of the stream's playlists, segments, parts and init sections served over HTTP.", stream...),
		streamViewers: d("stream_viewers", "Estimated viewers: distinct client IP and User-Agent pairs that fetched the stream's "+
			"media playlist, segments or parts within the last two target durations.", stream...),
		streamSegments: d("stream_segments_total", "Segments written for the stream.", stream...),
		renditionLive: d("rendition_live", "For a ladder's media playlists: 1 while the rendition has a source "+
			"(0: its rendition group member is away and the playlist lists gaps).", "app", "stream", "rendition"),
		segments: d("hls_segments_total", "Segments written, over every stream.", "variant"),
		parts:    d("hls_parts_total", "LL-HLS parts written, over every stream.", "variant"),
		dropped: d("dropped_frames_total", "Frames dropped, by reason: not_publishing (media on an RTMP stream that is not publishing), "+
			"no_config (before the track's sequence header), backwards (DTS went back), before_keyframe (before the first key frame), "+
			"not_carried (a track the variant cannot carry), late (DTS not after the previous one in the segmenter).", "reason"),
		httpRequests: d("http_requests_total", "HTTP requests by kind (multivariant, playlist, segment, part, init, page, api, other) "+
			"and status code (or class, e.g. 5xx, for uncommon codes).", "kind", "code"),
		httpBytes:        d("http_sent_bytes_total", "HTTP response body bytes by request kind.", "kind"),
		blockingInFlight: d("http_blocking_requests", "LL-HLS blocking playlist reloads and part requests in progress."),
		blockingWait:     d("http_blocking_wait_seconds", "How long LL-HLS blocking playlist reloads and part requests waited for their answer."),
		blockingTimeouts: d("http_blocking_timeouts_total", "LL-HLS blocking requests answered 503 because what they waited for did not come within three target durations."),
		blockingRejected: d("http_blocking_rejected_total", "LL-HLS blocking requests answered 503 at once because http.maxBlockingRequests were waiting."),
		webhookDuration:  d("webhook_admission_duration_seconds", "Duration of admission webhook calls (answered or not)."),
		webhookFailures:  d("webhook_admission_failures_total", "Admission webhook calls without a usable answer: transport errors, timeouts, 5xx, invalid 2xx bodies."),
		webhookDenials:   d("webhook_admission_denials_total", "Admission webhook answers that refused the publish (status 300-499)."),
		notifyEvents:     d("webhook_notify_events_total", "Publish start/stop notifications by result: queued, delivered, failed (abandoned after retries), dropped (queue full).", "result"),
		notifyRetries:    d("webhook_notify_retries_total", "Notification delivery attempts after the first."),
	}
}

// Describe implements prometheus.Collector.
func (c *gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.rtmpOpen, c.rtmpAccepted, c.rtmpRefused, c.publishes, c.streams,
		c.streamLive, c.streamBytesIn, c.streamFramesIn, c.streamBytesOut, c.streamViewers, c.streamSegments,
		c.renditionLive, c.segments, c.parts, c.dropped,
		c.httpRequests, c.httpBytes, c.blockingInFlight, c.blockingWait, c.blockingTimeouts, c.blockingRejected,
		c.webhookDuration, c.webhookFailures, c.webhookDenials, c.notifyEvents, c.notifyRetries,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	a := c.a

	rs := a.rtmp.Stats()
	gauge(c.rtmpOpen, float64(rs.Open))
	counter(c.rtmpAccepted, rs.Accepted)
	counter(c.rtmpRefused, rs.Refused)

	p := &a.publishes
	for _, r := range []struct {
		name string
		v    *atomic.Uint64
	}{
		{"admitted_open", &p.admittedOpen}, {"admitted_key", &p.admittedKey}, {"admitted_webhook", &p.admittedWebhook},
		{"rejected_badname", &p.rejectedBadName}, {"rejected_unauthorized", &p.rejectedUnauthorized},
		{"rejected_busy", &p.busy}, {"failed", &p.failed},
	} {
		counter(c.publishes, r.v.Load(), r.name)
	}

	c.collectStreams(ch, counter, gauge)

	hs := a.hls.Stats()
	counter(c.segments, hs.SegmentsWritten, string(hs.Variant))
	counter(c.parts, hs.PartsWritten, string(hs.Variant))
	mx := a.remuxStats()
	for _, r := range []struct {
		reason string
		v      uint64
	}{
		{"not_publishing", rs.DroppedNotPublishing},
		{"no_config", mx.DroppedNoConfig}, {"backwards", mx.DroppedBackwards},
		{"before_keyframe", hs.DroppedBeforeKeyFrame}, {"not_carried", hs.DroppedNotCarried}, {"late", hs.DroppedLate},
	} {
		counter(c.dropped, r.v, r.reason)
	}

	c.collectHTTP(ch, counter, gauge)
	c.collectWebhooks(ch, counter, a.auth.Stats())
}

func (c *gatewayCollector) collectStreams(ch chan<- prometheus.Metric,
	counter func(*prometheus.Desc, uint64, ...string), gauge func(*prometheus.Desc, float64, ...string)) {
	infos := c.a.hls.Streams()
	out := make(map[[2]string]struct {
		bytes   uint64
		viewers int
	}, len(infos))
	for _, t := range c.a.http.Traffic() {
		out[[2]string{t.App, t.Stream}] = struct {
			bytes   uint64
			viewers int
		}{t.BytesSent, t.Viewers}
	}
	var live, waiting, ended int
	for _, si := range infos {
		up := 0.0
		switch {
		case si.Live:
			live++
			up = 1
		case si.Ended:
			ended++
		default:
			waiting++
		}
		gauge(c.streamLive, up, si.App, si.Name)
		counter(c.streamBytesIn, si.BytesIn, si.App, si.Name)
		counter(c.streamFramesIn, si.FramesIn, si.App, si.Name)
		counter(c.streamSegments, si.SegmentsWritten, si.App, si.Name)
		o := out[[2]string{si.App, si.Name}]
		counter(c.streamBytesOut, o.bytes, si.App, si.Name)
		gauge(c.streamViewers, float64(o.viewers), si.App, si.Name)
		for _, r := range si.Renditions {
			up := 0.0
			if r.Live {
				up = 1
			}
			gauge(c.renditionLive, up, si.App, si.Name, r.Playlist)
		}
	}
	gauge(c.streams, float64(live), "live")
	gauge(c.streams, float64(waiting), "waiting")
	gauge(c.streams, float64(ended), "ended")
}

func (c *gatewayCollector) collectHTTP(ch chan<- prometheus.Metric,
	counter func(*prometheus.Desc, uint64, ...string), gauge func(*prometheus.Desc, float64, ...string)) {
	st := c.a.http.Stats()
	for _, rc := range st.Requests {
		counter(c.httpRequests, rc.Count, rc.Kind.String(), rc.Code)
	}
	for k, n := range st.SentBytes {
		if n > 0 {
			counter(c.httpBytes, n, httpserver.RequestKind(k).String())
		}
	}
	gauge(c.blockingInFlight, float64(st.BlockingInFlight))
	counter(c.blockingTimeouts, st.BlockingTimeouts)
	counter(c.blockingRejected, st.BlockingRejected)
	h := st.BlockingWait
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.blockingWait, h.Count, h.Sum, buckets)
}

func (c *gatewayCollector) collectWebhooks(ch chan<- prometheus.Metric,
	counter func(*prometheus.Desc, uint64, ...string), as admission.Stats) {
	ch <- prometheus.MustNewConstSummary(c.webhookDuration, as.WebhookCalls, as.WebhookLatency.Seconds(), nil)
	counter(c.webhookFailures, as.WebhookFailures)
	counter(c.webhookDenials, as.WebhookDenials)
	counter(c.notifyEvents, as.NotifyQueued, "queued")
	counter(c.notifyEvents, as.NotifyDelivered, "delivered")
	counter(c.notifyEvents, as.NotifyFailed, "failed")
	counter(c.notifyEvents, as.NotifyDropped, "dropped")
	counter(c.notifyRetries, as.NotifyRetries)
}
