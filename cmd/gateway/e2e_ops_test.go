package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/flv/flvfile"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// Operations end to end: takeover policy, stream limit, the JSON API with
// its token and kick, /metrics, and the bound on LL-HLS blocking requests,
// each against a real App on loopback driven by the RTMP test client.

// opsTags returns the media tags of a 5 s ffmpeg clip.
func opsTags(t *testing.T) []flvfile.Tag {
	t.Helper()
	f, err := os.Open(clip(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, tags, err := flvfile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// opsPublisher is a test client publishing live/name.
func opsPublisher(t *testing.T, gw *App, name string) *rtmptest.Client {
	t.Helper()
	c, err := rtmptest.Dial(gw.RTMPAddr().String(), rtmptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	st, err := c.PublishFlow("live", name)
	if err != nil || st.Code() != "NetStream.Publish.Start" {
		t.Fatalf("publish %s: %v %v", name, st, err)
	}
	return c
}

// opsSend sends the tags whose time is in [from, to) ms, at speed × real
// time, with timestamps shifted by base ms.
func opsSend(t *testing.T, c *rtmptest.Client, tags []flvfile.Tag, from, to, base uint32, speed int) error {
	t.Helper()
	start := time.Now()
	for _, tag := range tags {
		if tag.Timestamp < from && !isConfigTag(tag) || tag.Timestamp >= to {
			continue
		}
		off := time.Duration(max(tag.Timestamp, from)-from) * time.Millisecond / time.Duration(speed)
		if d := off - time.Since(start); d > 0 {
			time.Sleep(d)
		}
		var err error
		switch tag.Type {
		case flvfile.TagVideo:
			err = c.SendVideo(base+tag.Timestamp, tag.Data)
		case flvfile.TagAudio:
			err = c.SendAudio(base+tag.Timestamp, tag.Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isConfigTag: a sequence header (AVC or AAC packet type 0), which a second
// publisher must send too.
func isConfigTag(tag flvfile.Tag) bool {
	return len(tag.Data) > 1 && tag.Data[1] == 0 && (tag.Type == flvfile.TagVideo || tag.Type == flvfile.TagAudio)
}

// opsExpectKicked reads until the server's goodbye onStatus, then expects
// the connection to close.
func opsExpectKicked(t *testing.T, c *rtmptest.Client) {
	t.Helper()
	st, err := c.WaitStatus()
	if err != nil {
		t.Fatalf("no onStatus before the close: %v", err)
	}
	if st.Code() != "NetStream.Unpublish.Success" {
		t.Fatalf("goodbye %s, want NetStream.Unpublish.Success", st.Code())
	}
	for range 100 {
		if _, err := c.ReadMessage(); err != nil {
			return
		}
	}
	t.Fatal("connection still open after the goodbye")
}

// opsRequest sends a request with an optional bearer token.
func opsRequest(t *testing.T, method, url, token string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body
}

// opsAPIStream is the part of the API's stream object the tests read.
type opsAPIStream struct {
	Live       bool   `json:"live"`
	Ended      bool   `json:"ended"`
	Publisher  string `json:"publisher"`
	Uptime     int64  `json:"uptime"`
	BitrateIn  int    `json:"bitrate_in"`
	BitrateOut int    `json:"bitrate_out"`
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	Viewers    int    `json:"viewers"`
	Segments   int    `json:"segments"`
	Tracks     []struct {
		Kind       string `json:"kind"`
		Width      int    `json:"width"`
		SampleRate int    `json:"sample_rate"`
	} `json:"tracks"`
}

func TestE2ETakeoverNewestWins(t *testing.T) {
	t.Parallel()
	tags := opsTags(t)
	gw := startGateway(t, testConfig("fmp4"))
	a := opsPublisher(t, gw, "obs")
	if err := opsSend(t, a, tags, 0, 2500, 0, 4); err != nil {
		t.Fatal(err)
	}
	// The encoder reconnects while its old connection still looks alive.
	b := opsPublisher(t, gw, "obs")
	opsExpectKicked(t, a)
	if err := opsSend(t, b, tags, 0, 5000, 0, 4); err != nil {
		t.Fatal(err)
	}
	var body string
	ok := waitFor(10*time.Second, func() bool {
		status, _, b := httpGetQuiet(httpURL(gw, "live/obs/stream.m3u8"))
		body = string(b)
		return status == 200 && strings.Count(body, "#EXTINF") >= 5 && strings.Contains(body, "#EXT-X-DISCONTINUITY")
	})
	if !ok || strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("playlist after the takeover:\n%s", body)
	}
	if info := streamInfo(t, gw, "live", "obs"); info == nil || !info.Live || info.Publisher != b.Conn().LocalAddr().String() {
		t.Fatalf("stream after the takeover: %+v", info)
	}
}

func TestE2ETakeoverReject(t *testing.T) {
	t.Parallel()
	cfg := testConfig("fmp4")
	cfg.HLS.Takeover = "reject"
	gw := startGateway(t, cfg)
	a := opsPublisher(t, gw, "cam")
	b, err := rtmptest.Dial(gw.RTMPAddr().String(), rtmptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.PublishFlow("live", "cam")
	if err != nil {
		t.Fatal(err)
	}
	if desc, _ := st.Info().GetString("description"); st.Code() != "NetStream.Publish.BadName" || desc != "stream already publishing" {
		t.Fatalf("second publisher got %s %q", st.Code(), desc)
	}
	// The first publisher is untouched.
	if err := a.SendMetadata(nil); err != nil {
		t.Fatal(err)
	}
	if info := streamInfo(t, gw, "live", "cam"); info == nil || !info.Live || info.Publisher != a.Conn().LocalAddr().String() {
		t.Fatalf("stream %+v", info)
	}
	// Once it unpublishes, the name is free again.
	if err := a.Unpublish("cam"); err != nil {
		t.Fatal(err)
	}
	// (A stream that never made a segment is freed at once.)
	if !waitFor(5*time.Second, func() bool { i := streamInfo(t, gw, "live", "cam"); return i == nil || !i.Live }) {
		t.Fatal("stream still live after unpublish")
	}
	opsPublisher(t, gw, "cam")
	if got := metricValue(t, gw, "", `livegate_publish_attempts_total{result="rejected_busy"}`); got != 1 {
		t.Errorf("rejected_busy = %v", got)
	}
	if got := metricValue(t, gw, "", `livegate_publish_attempts_total{result="admitted_open"}`); got != 2 {
		t.Errorf("admitted_open = %v", got)
	}
}

func TestE2EMaxStreams(t *testing.T) {
	t.Parallel()
	cfg := testConfig("fmp4")
	cfg.HLS.MaxStreams = 1
	gw := startGateway(t, cfg)
	opsPublisher(t, gw, "one")
	c, err := rtmptest.Dial(gw.RTMPAddr().String(), rtmptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.PublishFlow("live", "two")
	if err != nil {
		t.Fatal(err)
	}
	if st.Code() != "NetStream.Publish.Rejected" {
		t.Fatalf("publish over hls.maxStreams: %s", st.Code())
	}
	// Taking over the one live stream is not a new stream.
	opsPublisher(t, gw, "one")
}

func TestE2EAPIAndKick(t *testing.T) {
	t.Parallel()
	tags := opsTags(t)
	cfg := testConfig("mpegts")
	cfg.HTTP.APIToken = "api-secret"
	gw := startGateway(t, cfg)
	c := opsPublisher(t, gw, "show")
	if err := opsSend(t, c, tags, 0, 4000, 0, 2); err != nil {
		t.Fatal(err)
	}
	// Two viewers.
	for _, ua := range []string{"player-a", "player-b"} {
		req, _ := http.NewRequest(http.MethodGet, httpURL(gw, "live/show/stream.m3u8"), nil)
		req.Header.Set("User-Agent", ua)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("playlist: %d", res.StatusCode)
		}
	}

	url := httpURL(gw, "api/v1/streams/live/show")
	if status, h, _ := opsRequest(t, "GET", url, ""); status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("API without a token: %d %q", status, h.Get("WWW-Authenticate"))
	}
	var s opsAPIStream
	waitFor(5*time.Second, func() bool {
		_, _, body := opsRequest(t, "GET", url, "api-secret")
		s = opsAPIStream{}
		_ = json.Unmarshal(body, &s)
		return s.Viewers == 2 && s.BytesOut > 0
	})
	if !s.Live || s.Publisher != c.Conn().LocalAddr().String() || s.BitrateIn <= 0 || s.BytesIn == 0 ||
		s.Viewers != 2 || s.BytesOut == 0 || s.BitrateOut <= 0 || s.Segments == 0 || len(s.Tracks) != 2 ||
		s.Tracks[0].Width != 320 || s.Tracks[1].SampleRate != 44100 {
		t.Fatalf("stream %+v", s)
	}
	status, _, list := opsRequest(t, "GET", httpURL(gw, "api/v1/streams"), "api-secret")
	if status != 200 || !strings.Contains(string(list), `"name": "show"`) || !strings.Contains(string(list), `"viewers": 2`) {
		t.Fatalf("list: %d %s", status, list)
	}

	if status, _, _ := opsRequest(t, "DELETE", url, ""); status != 401 {
		t.Fatalf("kick without a token: %d", status)
	}
	if status, _, body := opsRequest(t, "DELETE", url, "api-secret"); status != 204 {
		t.Fatalf("kick: %d %s", status, body)
	}
	opsExpectKicked(t, c)
	// Kicking ends the stream at once: EXT-X-ENDLIST, no reconnect window.
	status, _, pl := httpGet(t, httpURL(gw, "live/show/stream.m3u8"))
	if status != 200 || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("playlist after the kick: %d\n%s", status, pl)
	}
	_, _, body := opsRequest(t, "GET", url, "api-secret")
	s = opsAPIStream{}
	if err := json.Unmarshal(body, &s); err != nil || s.Live || !s.Ended || s.Publisher != "" || s.Uptime != 0 {
		t.Fatalf("stream after the kick: %+v %v", s, err)
	}
	if status, _, _ := opsRequest(t, "DELETE", url, "api-secret"); status != 404 {
		t.Fatalf("kick of an ended stream: %d", status)
	}
}

// metricValue scrapes /metrics and returns the value of the sample whose
// name and labels are exactly series (-1 when absent).
func metricValue(t *testing.T, gw *App, token, series string) float64 {
	t.Helper()
	status, _, body := opsRequest(t, "GET", httpURL(gw, "metrics"), token)
	if status != 200 {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && name == series {
			var v float64
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func TestE2EMetrics(t *testing.T) {
	t.Parallel()
	tags := opsTags(t)
	cfg := testConfig("lowlatency")
	cfg.HTTP.MetricsToken = "scrape-me"
	cfg.HLS.Retention = time.Second
	gw := startGateway(t, cfg)
	if status, _, _ := opsRequest(t, "GET", httpURL(gw, "metrics"), ""); status != 401 {
		t.Fatalf("/metrics without its token: %d", status)
	}
	c := opsPublisher(t, gw, "m")
	if err := opsSend(t, c, tags, 0, 3000, 0, 4); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := httpGet(t, httpURL(gw, "live/m/stream.m3u8")); status != 200 {
		t.Fatalf("playlist: %d", status)
	}
	_, _, body := opsRequest(t, "GET", httpURL(gw, "metrics"), "scrape-me")
	for _, want := range []string{
		"livegate_rtmp_connections_open 1",
		"livegate_rtmp_connections_total 1",
		`livegate_publish_attempts_total{result="admitted_open"} 1`,
		`livegate_streams{state="live"} 1`,
		`livegate_stream_live{app="live",stream="m"} 1`,
		`livegate_stream_received_bytes_total{app="live",stream="m"}`,
		`livegate_stream_received_frames_total{app="live",stream="m"}`,
		`livegate_stream_sent_bytes_total{app="live",stream="m"}`,
		`livegate_stream_viewers{app="live",stream="m"} 1`,
		`livegate_stream_segments_total{app="live",stream="m"}`,
		`livegate_hls_segments_total{variant="lowlatency"}`,
		`livegate_hls_parts_total{variant="lowlatency"}`,
		`livegate_dropped_frames_total{reason="no_config"}`,
		`livegate_http_requests_total{code="200",kind="playlist"} 1`,
		`livegate_http_requests_total{code="401",kind="other"} 1`,
		"livegate_http_blocking_wait_seconds_bucket",
		"livegate_http_blocking_timeouts_total 0",
		"livegate_webhook_admission_duration_seconds_count 0",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if v := metricValue(t, gw, "scrape-me", `livegate_stream_received_bytes_total{app="live",stream="m"}`); v < 10000 {
		t.Errorf("received bytes %v", v)
	}
	// Once the stream is freed its series go away.
	if err := c.Unpublish("m"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return streamInfo(t, gw, "live", "m") == nil }) {
		t.Fatal("stream not freed")
	}
	_, _, body = opsRequest(t, "GET", httpURL(gw, "metrics"), "scrape-me")
	if strings.Contains(string(body), `stream="m"`) {
		t.Errorf("series of a freed stream remain:\n%s", grepLines(string(body), `stream="m"`))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestE2EMaxBlockingRequests(t *testing.T) {
	t.Parallel()
	tags := opsTags(t)
	cfg := testConfig("lowlatency")
	cfg.HTTP.MaxBlockingRequests = 1
	gw := startGateway(t, cfg)
	c := opsPublisher(t, gw, "ll")
	// A little media, then silence with the connection open: a blocking
	// reload for the next segment waits until it times out.
	if err := opsSend(t, c, tags, 0, 2500, 0, 4); err != nil {
		t.Fatal(err)
	}
	var last int64 = -1
	if !waitFor(5*time.Second, func() bool {
		info := streamInfo(t, gw, "live", "ll")
		if info == nil || info.SegmentsWritten == 0 {
			return false
		}
		last = int64(info.SegmentsWritten) // the segment after the last complete one, and one more
		return true
	}) {
		t.Fatal("no segment")
	}
	waiting := make(chan int, 1)
	go func() {
		status, _, _ := httpGetQuiet(httpURL(gw, "live/ll/stream.m3u8?_HLS_msn="+itoa(last+1)))
		waiting <- status
	}()
	if !waitFor(5*time.Second, func() bool { return gw.http.Stats().BlockingInFlight == 1 }) {
		t.Fatal("the blocking request is not waiting")
	}
	start := time.Now()
	status, _, _ := httpGet(t, httpURL(gw, "live/ll/stream.m3u8?_HLS_msn="+itoa(last+1)))
	if status != http.StatusServiceUnavailable || time.Since(start) > time.Second {
		t.Fatalf("second blocking request: %d after %v", status, time.Since(start))
	}
	// Plain playlist requests never wait and are not limited.
	if status, _, _ := httpGet(t, httpURL(gw, "live/ll/stream.m3u8")); status != 200 {
		t.Fatalf("plain playlist: %d", status)
	}
	select {
	case status := <-waiting:
		if status != http.StatusServiceUnavailable {
			t.Fatalf("the waiting request got %d, want a 503 timeout", status)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the waiting request never ended")
	}
	if v := metricValue(t, gw, "", "livegate_http_blocking_rejected_total"); v != 1 {
		t.Errorf("rejected %v", v)
	}
	if v := metricValue(t, gw, "", "livegate_http_blocking_timeouts_total"); v != 1 {
		t.Errorf("timeouts %v", v)
	}
}

func itoa(n int64) string {
	b, err := json.Marshal(n)
	if err != nil {
		panic(errors.New("itoa"))
	}
	return string(b)
}
