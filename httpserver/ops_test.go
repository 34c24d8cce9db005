package httpserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livegate/gateway/hls"
)

// kickOrigin is a fakeOrigin that can kick its live stream.
type kickOrigin struct {
	*fakeOrigin
	mu     sync.Mutex
	kicked []string
}

func (k *kickOrigin) Kick(app, stream string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if app == "live" && stream == "cam" && len(k.kicked) == 0 {
		k.kicked = append(k.kicked, app+"/"+stream)
		return nil
	}
	return fmt.Errorf("kick %s/%s: %w", app, stream, hls.ErrNotFound)
}

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := rawClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res, body
}

func TestClassify(t *testing.T) {
	cases := map[string]RequestKind{
		"/":                                    KindPage,
		"/static/hls.min.js":                   KindPage,
		"/live/cam":                            KindPage,
		"/live/cam/":                           KindPage,
		"/api/v1/streams":                      KindAPI,
		"/api":                                 KindAPI,
		"/healthz":                             KindOther,
		"/metrics":                             KindOther,
		"/live/cam/index.m3u8":                 KindMultivariant,
		"/live/cam/stream.m3u8":                KindPlaylist,
		"/live/cam/0123456789abcdef_7.ts":      KindSegment,
		"/live/cam/0123456789abcdef_7.m4s":     KindSegment,
		"/live/cam/0123456789abcdef_7.3.m4s":   KindPart,
		"/live/cam/0123456789abcdef_init0.mp4": KindInit,
		"/live/cam/x/y.ts":                     KindOther,
		"/live/cam/readme.txt":                 KindOther,
	}
	for path, want := range cases {
		if got := classify(path); got != want {
			t.Errorf("classify(%q) = %v, want %v", path, got, want)
		}
	}
	for code, want := range map[int]string{200: "200", 404: "404", 202: "2xx", 418: "4xx", 502: "5xx", 999: "5xx", 101: "1xx"} {
		if got := codeNames[codeIndex(code)]; got != want {
			t.Errorf("code %d counted as %q, want %q", code, got, want)
		}
	}
}

func TestAPIToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "m 1\n") })
	_, base := startServer(t, newFakeOrigin(), func(s *Server) {
		s.APIToken = "s3cret"
		s.Metrics = metrics
		s.MetricsToken = "scrape"
	})
	cases := []struct {
		name, method, path, auth string
		status                   int
		challenge                string
	}{
		{"no token", "GET", "/api/v1/streams", "", 401, `Bearer realm="livegate"`},
		{"wrong token", "GET", "/api/v1/streams", "Bearer nope", 401, `Bearer realm="livegate", error="invalid_token"`},
		{"wrong scheme", "GET", "/api/v1/streams", "Basic czNjcmV0", 401, `Bearer realm="livegate", error="invalid_token"`},
		{"prefix of the token", "GET", "/api/v1/streams", "Bearer s3cre", 401, `Bearer realm="livegate", error="invalid_token"`},
		{"right token", "GET", "/api/v1/streams", "Bearer s3cret", 200, ""},
		{"scheme is case-insensitive", "GET", "/api/v1/streams/live/cam", "bearer s3cret", 200, ""},
		{"unknown API path needs the token too", "GET", "/api/v2/x", "", 401, `Bearer realm="livegate"`},
		{"kick needs the token", "DELETE", "/api/v1/streams/live/cam", "", 401, `Bearer realm="livegate"`},
		{"metrics without token", "GET", "/metrics", "", 401, `Bearer realm="livegate"`},
		{"metrics with the API token", "GET", "/metrics", "Bearer s3cret", 401, `Bearer realm="livegate", error="invalid_token"`},
		{"metrics with its token", "GET", "/metrics", "Bearer scrape", 200, ""},
		{"media stays open", "GET", "/live/cam/main.m3u8", "", 200, ""},
		{"preflight needs no token", "OPTIONS", "/api/v1/streams", "", 204, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			res, body := do(t, tc.method, base+tc.path, h)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if res.StatusCode == 401 && res.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("401 without CORS headers")
			}
			if res.StatusCode == 401 && strings.HasPrefix(tc.path, "/api/") && !strings.Contains(string(body), `"error"`) {
				t.Errorf("API 401 body is not a JSON error: %s", body)
			}
		})
	}
	res, _ := do(t, "OPTIONS", base+"/api/v1/streams/live/cam", map[string]string{"Origin": "https://dash.example", "Access-Control-Request-Method": "DELETE"})
	if got := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "DELETE") {
		t.Errorf("API preflight allows %q", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Authorization") {
		t.Errorf("API preflight allows headers %q", got)
	}
}

func TestNoMetricsHandlerIs404(t *testing.T) {
	_, base := startServer(t, newFakeOrigin())
	if res, _ := do(t, "GET", base+"/metrics", nil); res.StatusCode != 404 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestAPIKick(t *testing.T) {
	o := &kickOrigin{fakeOrigin: newFakeOrigin()}
	_, base := startServer(t, o)
	res, body := do(t, "DELETE", base+"/api/v1/streams/live/cam", nil)
	if res.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("kick: %d %s", res.StatusCode, body)
	}
	res, body = do(t, "DELETE", base+"/api/v1/streams/live/cam", nil)
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "stream not live") {
		t.Fatalf("second kick: %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "DELETE", base+"/api/v1/streams/live/%2e%2e", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("kick of a bad name: %d", res.StatusCode)
	}
	if res, _ := do(t, "POST", base+"/api/v1/streams/live/cam", nil); res.StatusCode != http.StatusMethodNotAllowed ||
		res.Header.Get("Allow") != "GET, HEAD, DELETE, OPTIONS" {
		t.Fatalf("POST: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}

	// An origin that cannot kick: 405.
	_, base2 := startServer(t, newFakeOrigin())
	if res, _ := do(t, "DELETE", base2+"/api/v1/streams/live/cam", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("kick without a Kicker: %d", res.StatusCode)
	}
}

// TestAPITrafficAndViewers: bytes served, output bitrate and the viewer
// estimate (distinct IP + User-Agent within two target durations).
func TestAPITrafficAndViewers(t *testing.T) {
	now := testModTime
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv, base := startServer(t, newFakeOrigin(), func(s *Server) { s.Now = clock })

	get := func(path, ua string) int {
		res, body := do(t, "GET", base+path, map[string]string{"User-Agent": ua})
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		return len(body)
	}
	var sent int
	// Three players (same IP, different User-Agents); the multivariant
	// playlist and the init section do not make viewers.
	for _, ua := range []string{"a", "b", "c"} {
		sent += get("/live/cam/index.m3u8", ua)
		sent += get("/live/cam/ab12cd_init.mp4", ua)
		sent += get("/live/cam/main.m3u8", ua)
		sent += get("/live/cam/ab12cd_109.ts", ua)
	}
	sent += get("/live/cam/index.m3u8", "d")
	// 404s count nothing.
	if res, _ := do(t, "GET", base+"/live/cam/nope.ts", nil); res.StatusCode != 404 {
		t.Fatal(res.StatusCode)
	}

	stream := func() apiStream {
		t.Helper()
		_, body := do(t, "GET", base+"/api/v1/streams/live/cam", nil)
		var s apiStream
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return s
	}
	// The server accounts for a response after it is written: wait for it.
	var s apiStream
	for range 100 {
		if s = stream(); s.BytesOut == uint64(sent) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.Viewers != 3 || s.BytesOut != uint64(sent) {
		t.Errorf("viewers %d bytes out %d, want 3 and %d", s.Viewers, s.BytesOut, sent)
	}
	// Everything within the same second: rate over the 1 s minimum.
	if s.BitrateOut != sent*8 {
		t.Errorf("bitrate out %d, want %d", s.BitrateOut, sent*8)
	}
	// Player c keeps playing; a and b stop. The target duration is 6 s:
	// after 13 s only c is left.
	advance(7 * time.Second)
	sent += get("/live/cam/ab12cd_109.ts", "c")
	for range 100 {
		if stream().BytesOut == uint64(sent) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	advance(6 * time.Second)
	s = stream()
	if s.Viewers != 1 {
		t.Errorf("viewers after a and b left: %d", s.Viewers)
	}
	advance(hls.RateWindow + 2*time.Second)
	s = stream()
	if s.Viewers != 0 || s.BitrateOut != 0 || s.BytesOut == 0 {
		t.Errorf("after a silent window: %+v", s)
	}

	// The list carries the same fields; Traffic lists every stream.
	tr := srv.Traffic()
	if len(tr) != 2 || tr[0].App != "live" || tr[0].Stream != "cam" || tr[0].BytesSent != s.BytesOut || tr[1].BytesSent != 0 {
		t.Errorf("traffic %+v", tr)
	}
}

func TestAPIStreamPublisherFields(t *testing.T) {
	o := newFakeOrigin()
	o.streams[0].Publisher = "192.0.2.1:50000"
	o.streams[0].PublishedAt = testModTime.Add(-90 * time.Second)
	o.streams[0].BitrateIn = 3_000_000
	o.streams[0].BytesIn = 12345
	o.streams[0].SegmentsWritten = 42
	o.streams[0].Renditions = []hls.RenditionInfo{
		{Playlist: "v_720.m3u8", Kind: "video", Live: true, Member: "cam_720", Publisher: "192.0.2.1:50000", Bandwidth: 2_000_000},
		{Playlist: "v_480.m3u8", Kind: "video"},
	}
	_, base := startServer(t, o, func(s *Server) { s.Now = func() time.Time { return testModTime } })
	_, body := do(t, "GET", base+"/api/v1/streams/live/cam", nil)
	for _, want := range []string{
		`"publisher": "192.0.2.1:50000"`, `"uptime": 90`, `"bitrate_in": 3000000`, `"bytes_in": 12345`,
		`"segments_written": 42`, `"published_at": "2026-11-23T11:58:30Z"`, `"viewers": 0`, `"bitrate_out": 0`,
		`"playlist": "v_720.m3u8"`, `"member": "cam_720"`, `"live": false`, `"bandwidth": 2000000`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
}

func TestMaxBlockingRequests(t *testing.T) {
	checkGoroutines(t)
	o := newFakeOrigin()
	srv, base := startServer(t, o, func(s *Server) { s.MaxBlockingRequests = 1 })
	done := make(chan int, 1)
	go func() {
		res, err := rawClient().Get(base + "/live/cam/block.m3u8?_HLS_msn=200")
		if err != nil {
			done <- 0
			return
		}
		_ = res.Body.Close()
		done <- res.StatusCode
	}()
	<-o.blockEntered
	start := time.Now()
	res, _ := do(t, "GET", base+"/live/cam/main.m3u8?_HLS_msn=5", nil)
	if res.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
		t.Fatalf("second blocking request: %d after %v", res.StatusCode, time.Since(start))
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("503 Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	// Requests that never wait are not limited.
	if res, _ := do(t, "GET", base+"/live/cam/main.m3u8", nil); res.StatusCode != 200 {
		t.Fatalf("plain playlist: %d", res.StatusCode)
	}
	if res, _ := do(t, "HEAD", base+"/live/cam/ab12cd_110.2.m4s", nil); res.StatusCode != 200 {
		t.Fatalf("HEAD of a part: %d", res.StatusCode)
	}
	st := srv.Stats()
	if st.BlockingInFlight != 1 || st.BlockingRejected != 1 {
		t.Errorf("stats %+v", st)
	}
	if res, _ := do(t, "GET", base+"/live/cam/timeout.m3u8?_HLS_msn=5", nil); res.StatusCode != 503 {
		t.Fatalf("still limited: %d", res.StatusCode)
	}
	srv.Close()
	<-done
	for range 100 {
		if st = srv.Stats(); st.BlockingInFlight == 0 && st.BlockingWait.Count == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.BlockingInFlight != 0 || st.BlockingRejected != 2 || st.BlockingWait.Count != 1 {
		t.Errorf("stats after close %+v", st)
	}
}

func TestStatsCountRequests(t *testing.T) {
	srv, base := startServer(t, newFakeOrigin())
	for _, p := range []string{
		"/live/cam/index.m3u8", "/live/cam/main.m3u8", "/live/cam/ab12cd_109.ts", "/live/cam/ab12cd_110.2.m4s",
		"/live/cam/ab12cd_init.mp4", "/live/cam/nope.ts", "/", "/api/v1/streams", "/healthz",
		"/live/cam/panic.m3u8", "/live/cam/timeout.m3u8?_HLS_msn=3",
	} {
		do(t, "GET", base+p, nil)
	}
	// Requests are counted after their response is written: wait for all.
	for range 100 {
		var n uint64
		for _, rc := range srv.Stats().Requests {
			n += rc.Count
		}
		if n == 11 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts := map[string]uint64{}
	for _, rc := range srv.Stats().Requests {
		counts[rc.Kind.String()+" "+rc.Code] = rc.Count
	}
	want := map[string]uint64{
		"multivariant 200": 1, "playlist 200": 1, "segment 200": 1, "part 200": 1, "init 200": 1,
		"segment 404": 1, "page 200": 1, "api 200": 1, "other 200": 1, "playlist 500": 1, "playlist 503": 1,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	st := srv.Stats()
	// The 404 body counts; the part request and the blocking reload may wait.
	if st.SentBytes[KindSegment] != uint64(len(testSegment)+len("Not Found\n")) || st.BlockingTimeouts != 1 || st.BlockingWait.Count != 2 {
		t.Errorf("sent %v timeouts %d waits %+v", st.SentBytes, st.BlockingTimeouts, st.BlockingWait)
	}
	if h := st.BlockingWait; len(h.Counts) != len(h.Bounds) || h.Counts[len(h.Counts)-1] != 2 {
		t.Errorf("histogram %+v", h)
	}
}

func TestTrafficPrunesFreedStreams(t *testing.T) {
	tr := newTraffic()
	now := testModTime
	var streams []hls.StreamInfo
	live := func() []hls.StreamInfo { return streams }
	req, _ := http.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:5"
	obj := &hls.Object{Kind: hls.KindSegment, TargetDuration: 2 * time.Second}
	// Streams come and go: the table never holds much more than the
	// streams the origin lists.
	for i := range 1000 {
		name := fmt.Sprint("s", i)
		streams = []hls.StreamInfo{{App: "live", Name: name}}
		tr.record(req, "live", name, obj, 100, now, live)
	}
	tr.mu.RLock()
	n := len(tr.streams)
	tr.mu.RUnlock()
	if n > minTrafficPrune+1 {
		t.Fatalf("%d accounts for 1 stream", n)
	}
	// Clients per stream are bounded too.
	for i := range maxClientsPerStream + 100 {
		req.Header.Set("User-Agent", fmt.Sprint(i))
		tr.record(req, "live", "s999", obj, 0, now, live)
	}
	if s := tr.snapshot(streams, now); s[0].Viewers != maxClientsPerStream {
		t.Fatalf("viewers %d", s[0].Viewers)
	}
}
