package httpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
)

// These tests need ffmpeg and chromium on PATH and run with
//
//	go test -tags e2e -run E2E ./httpserver/
//
// TestServeDemo serves the same emulated live stream for a person to look
// at: HTTPSERVER_DEMO_SECONDS=120 go test -tags e2e -run TestServeDemo -v ./httpserver/

const (
	demoSegment = 2 * time.Second
	demoWindow  = 5 // segments in the sliding window
)

// liveDirOrigin emulates a live stream "live/demo" from ffmpeg's HLS output:
// one segment becomes available per segment duration, in a sliding window
// without EXT-X-ENDLIST. The encoded segments repeat for ever; segment i is
// served as "s<i>.ts" (a URL is never reused) with a discontinuity where
// the content wraps.
type liveDirOrigin struct {
	dir      string
	segments []string
	durs     []string
	start    time.Time
}

func newLiveDirOrigin(t testing.TB, dir string) *liveDirOrigin {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "main.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	o := &liveDirOrigin{dir: dir, start: time.Now()}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "#EXTINF:") && i+1 < len(lines) {
			o.durs = append(o.durs, l)
			o.segments = append(o.segments, lines[i+1])
		}
	}
	if len(o.segments) < demoWindow {
		t.Fatalf("only %d segments", len(o.segments))
	}
	return o
}

// available is the number of segments published so far.
func (o *liveDirOrigin) available() int {
	return demoWindow + int(time.Since(o.start)/demoSegment)
}

func (o *liveDirOrigin) Get(_ context.Context, app, stream, file string, _ url.Values) (*hls.Object, error) {
	if app != "live" || stream != "demo" {
		return nil, fmt.Errorf("%s/%s: %w", app, stream, hls.ErrNotFound)
	}
	n := len(o.segments)
	obj := &hls.Object{TargetDuration: demoSegment, ModTime: time.Now().Truncate(time.Second)}
	switch {
	case file == "index.m3u8":
		obj.Kind, obj.ContentType = hls.KindMultivariant, "application/vnd.apple.mpegurl"
		obj.Body = []byte("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=2800000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=960x540,FRAME-RATE=30.000\n" +
			"main.m3u8\n")
		obj.ModTime = o.start.Truncate(time.Second)
	case file == "main.m3u8":
		avail := o.available()
		first := avail - demoWindow
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-DISCONTINUITY-SEQUENCE:%d\n",
			int(demoSegment/time.Second), first, first/n)
		for i := first; i < avail; i++ {
			if i%n == 0 && i > first {
				b.WriteString("#EXT-X-DISCONTINUITY\n")
			}
			fmt.Fprintf(&b, "%s\ns%d.ts\n", o.durs[i%n], i)
		}
		obj.Kind, obj.ContentType = hls.KindMediaPlaylist, "application/vnd.apple.mpegurl"
		obj.Body = []byte(b.String())
	case strings.HasPrefix(file, "s") && strings.HasSuffix(file, ".ts"):
		i, err := strconv.Atoi(strings.TrimSuffix(file[1:], ".ts"))
		if err != nil || i < 0 || i >= o.available() {
			return nil, fmt.Errorf("%s: %w", file, hls.ErrNotFound)
		}
		body, err := os.ReadFile(filepath.Join(o.dir, o.segments[i%n]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, hls.ErrNotFound)
		}
		obj.Kind, obj.ContentType, obj.Body = hls.KindSegment, "video/mp2t", body
		obj.ModTime = o.start.Truncate(time.Second)
	default:
		return nil, fmt.Errorf("%s: %w", file, hls.ErrNotFound)
	}
	sum := sha256.Sum256(obj.Body)
	obj.ETag = `"` + hex.EncodeToString(sum[:8]) + `"`
	return obj, nil
}

func (o *liveDirOrigin) Streams() []hls.StreamInfo {
	return []hls.StreamInfo{{
		App: "live", Name: "demo", Live: true, StartedAt: o.start, Segments: o.available(), Bandwidth: 2800000,
		Tracks: []hls.TrackInfo{
			{Kind: "video", Codec: "avc1.64001f", Width: 960, Height: 540, FrameRate: 30},
			{Kind: "audio", Codec: "mp4a.40.2", SampleRate: 48000, Channels: 1},
		},
	}}
}

// makeHLS encodes a test pattern into 2-second MPEG-TS segments.
func makeHLS(t testing.TB, seconds int) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		skipOrFail(t, "ffmpeg not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=960x540:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-b:v", "2500k",
		"-c:a", "aac", "-b:a", "96k",
		"-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg_%03d.ts"), filepath.Join(dir, "main.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return dir
}

func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	skipOrFail(t, "chromium not installed")
	return ""
}

// browse loads url in headless Chromium through testdata/cdp.mjs, waits
// (bounded by timeout) until the JS condition until holds, and decodes the
// JSON value of the expression eval into out. It reports whether the
// condition held.
func browse(t *testing.T, url, until, eval string, timeout time.Duration, out any) bool {
	t.Helper()
	chromium := chromiumPath(t)
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not installed")
	}
	args := []string{"testdata/cdp.mjs", "--url", url, "--until", until, "--eval", eval,
		"--timeout", strconv.Itoa(int(timeout / time.Millisecond)), "--chromium", chromium}
	if dir := os.Getenv("HTTPSERVER_SCREENSHOTS"); dir != "" {
		args = append(args, "--screenshot", filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png"))
	}
	// Node 20 has WebSocket behind a flag; newer versions accept the flag too.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--experimental-websocket", "--no-warnings"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) {
		t.Fatalf("cdp.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("cdp.mjs output %q: %v", stdout, err)
	}
	return err == nil
}

type playerView struct {
	State      string `json:"state"`
	Engine     string `json:"engine"`
	Time       float64
	Resolution string `json:"resolution"`
	Bitrate    string `json:"bitrate"`
	Latency    string `json:"latency"`
	Errors     []struct {
		Type, Details string
		Status        int
	} `json:"errors"`
}

const playerViewJS = `({state: __player.state, engine: __player.engine, time: video.currentTime,
	resolution: document.getElementById('stat-resolution').textContent,
	bitrate: document.getElementById('stat-bitrate').textContent,
	latency: document.getElementById('stat-latency').textContent,
	errors: __player.errors})`

func TestE2EPlayerPlaysLiveStream(t *testing.T) {
	dir := makeHLS(t, 12)
	_, base := startServer(t, newLiveDirOrigin(t, dir))
	var v playerView
	ok := browse(t, base+"/live/demo/",
		`__player.state === 'playing' && video.currentTime > 1 && document.getElementById('stat-latency').textContent !== '—'`,
		playerViewJS, 40*time.Second, &v)
	if !ok || v.State != "playing" || v.Engine != "hls.js" {
		t.Fatalf("player %+v, want playing with hls.js", v)
	}
	if v.Resolution != "960×540" || v.Bitrate != "2.80 Mbit/s" || !strings.HasSuffix(v.Latency, " s") {
		t.Errorf("stats %+v", v)
	}
}

// TestE2EPlayerWaitsThenStarts opens the page of an offline stream, which
// goes live after a few 404s: the page must wait, then start by itself.
func TestE2EPlayerWaitsThenStarts(t *testing.T) {
	dir := makeHLS(t, 12)
	origin := &switchOrigin{live: newLiveDirOrigin(t, dir), offlineAnswers: 3}
	_, base := startServer(t, origin)
	var v playerView
	if !browse(t, base+"/live/demo/", `__player.state === 'playing' && video.currentTime > 0.5`, playerViewJS, 40*time.Second, &v) {
		t.Fatalf("player %+v, want playing", v)
	}
	if len(v.Errors) < 3 || v.Errors[0].Status != 404 || v.Errors[0].Type != "probe" {
		t.Errorf("errors %+v, want the 404 probes first", v.Errors)
	}
}

func TestE2EIndexListsStreams(t *testing.T) {
	_, base := startServer(t, newFakeOrigin())
	var hrefs []string
	if !browse(t, base+"/", `document.querySelectorAll('a.stream').length === 2`,
		`Array.from(document.querySelectorAll('a.stream')).map(a => a.getAttribute('href'))`, 20*time.Second, &hrefs) {
		t.Fatalf("stream cards %v", hrefs)
	}
	if len(hrefs) != 2 || hrefs[0] != "/live/cam/" {
		t.Errorf("cards link %v", hrefs)
	}
}

// switchOrigin answers 404 to its first offlineAnswers requests, then
// serves the live stream.
type switchOrigin struct {
	live           *liveDirOrigin
	offlineAnswers int64
	calls          atomic.Int64
}

func (o *switchOrigin) Get(ctx context.Context, app, stream, file string, q url.Values) (*hls.Object, error) {
	if o.calls.Add(1) <= o.offlineAnswers {
		return nil, fmt.Errorf("offline: %w", hls.ErrNotFound)
	}
	return o.live.Get(ctx, app, stream, file, q)
}

func (o *switchOrigin) Streams() []hls.StreamInfo { return nil }

// TestServeDemo serves the emulated live stream plus the fake origin's
// streams for manual checks and screenshots.
func TestServeDemo(t *testing.T) {
	secs, err := strconv.Atoi(os.Getenv("HTTPSERVER_DEMO_SECONDS"))
	if err != nil || secs <= 0 {
		t.Skip("set HTTPSERVER_DEMO_SECONDS")
	}
	addr := os.Getenv("HTTPSERVER_DEMO_ADDR")
	if addr == "" {
		addr = "127.0.0.1:18090"
	}
	dir := makeHLS(t, 60)
	s := &Server{Listen: addr, Origin: demoOrigin{newLiveDirOrigin(t, dir), newFakeOrigin()},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("serving on http://%s/ for %d s", s.Addr(), secs)
	time.Sleep(time.Duration(min(secs, 600)) * time.Second)
}

// demoOrigin serves live/demo from a liveDirOrigin and the rest from a
// fakeOrigin.
type demoOrigin struct {
	live *liveDirOrigin
	fake *fakeOrigin
}

func (d demoOrigin) Get(ctx context.Context, app, stream, file string, q url.Values) (*hls.Object, error) {
	if app == "live" && stream == "demo" {
		return d.live.Get(ctx, app, stream, file, q)
	}
	return d.fake.Get(ctx, app, stream, file, q)
}

func (d demoOrigin) Streams() []hls.StreamInfo {
	return append(d.live.Streams(), d.fake.Streams()...)
}

// skipOrFail skips a test whose tool is missing, except in CI (CI set),
// where .ci/run installs every tool and a missing one is a failure.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
