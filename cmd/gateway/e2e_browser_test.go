package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// playerSample is one look at the player page (see sampleExpr).
type playerSample struct {
	State          string   `json:"state"`
	CurrentTime    float64  `json:"currentTime"`
	HLSLatency     float64  `json:"hlsLatency"`
	PDTLatency     float64  `json:"pdtLatency"`
	LowLatencyMode bool     `json:"lowLatencyMode"`
	HasHLS         bool     `json:"hasHls"`
	FatalErrors    []string `json:"fatalErrors"`
	Errors         []string `json:"errors"`
}

// playerReport is the sequence of samples taken while the page played.
type playerReport struct{ Samples []playerSample }

// sampleExpr reads the player state the page exposes as window.__player.
const sampleExpr = `(() => {
  const p = window.__player || {};
  const v = p.video || document.querySelector('video');
  const h = p.hls;
  const date = h && h.playingDate ? h.playingDate.getTime() : 0;
  const errs = p.errors || [];
  return {
    state: p.state || '',
    currentTime: v ? v.currentTime : -1,
    hlsLatency: h && typeof h.latency === 'number' ? h.latency : -1,
    pdtLatency: date ? (Date.now() - date) / 1000 : -1,
    lowLatencyMode: h ? !!h.config.lowLatencyMode : false,
    hasHls: !!h,
    fatalErrors: errs.filter((e) => e && e.fatal).map((e) => e.details || String(e)),
    errors: errs.map((e) => (e && (e.details || e.type)) || String(e)),
  };
})()`

// runPlayer opens the player page url in headless Chromium for d, sampling
// it every 500 ms through the DevTools driver the httpserver tests use.
func runPlayer(ctx context.Context, t *testing.T, url string, d time.Duration) (*playerReport, error) {
	cmd := exec.CommandContext(ctx, "node", "--experimental-websocket", "--no-warnings",
		filepath.Join("..", "..", "httpserver", "testdata", "cdp.mjs"),
		"--url", url, "--every", "500", "--timeout", strconv.Itoa(int(d.Milliseconds())),
		"--eval", sampleExpr, "--chromium", "chromium")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	r := &playerReport{}
	if err := json.Unmarshal(out, &r.Samples); err != nil {
		return nil, err
	}
	if testing.Verbose() {
		t.Logf("browser console:\n%s", stderr.String())
	}
	return r, nil
}

func requireBrowser(t *testing.T) {
	t.Helper()
	requireTool(t, "node", "chromium")
	if _, err := os.Stat(filepath.Join("..", "..", "web", "static", "hls.min.js")); err != nil {
		requireTool(t, "web/static/hls.min.js (run go generate ./web)")
	}
}

// publishLive encodes a live test source in real time (no B-frames, low
// encoder delay) for d.
func publishLive(t *testing.T, ctx context.Context, url string, d time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(int(d.Seconds())),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "flv", url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// The bundled player page plays a low-latency stream in Chromium: time
// advances, no fatal hls.js error, and live latency stays under 2 s.
//
// Not parallel: latency is a timing measurement, and the encoders of the
// parallel tests (x264, AV1, VP9, Chromium) would starve the player on a
// 2-core machine. Go runs serial tests before the parallel ones.
func TestE2EBrowserLowLatency(t *testing.T) {
	requireBrowser(t)
	requireTool(t, "ffmpeg")
	gw := sharedGateway(t, "lowlatency")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pub := publishLive(t, ctx, rtmpURL(gw, "live", "browser-ll"), 16*time.Second)
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()

	r, err := runPlayer(ctx, t, httpURL(gw, "live/browser-ll/"), 12*time.Second)
	if err != nil {
		t.Fatalf("player: %v", err)
	}
	checkPlayed(t, r, 4)
	last := r.Samples[len(r.Samples)-1]
	if last.PDTLatency < 0 || last.PDTLatency > 2 {
		t.Errorf("live latency %.2fs (hls.js latency %.2fs, errors %v), want under 2 s", last.PDTLatency, last.HLSLatency, last.Errors)
	}
	t.Logf("latency: ingest-to-play %.2fs, hls.js %.2fs (last sample %+v)", last.PDTLatency, last.HLSLatency, last)
}

// A publisher that dies without unpublishing and returns within the reconnect
// window continues the same playlist with a discontinuity, and a player that
// was watching keeps playing.
func TestE2EReconnect(t *testing.T) {
	t.Parallel()
	src := clip(t, 8)
	requireTool(t, "ffprobe")
	gw := sharedGateway(t, "fmp4")
	stream := "reconnect"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	browser := make(chan *playerReport, 1)
	browserErr := make(chan error, 1)
	withBrowser := browserAvailable()
	if withBrowser {
		go func() {
			r, err := runPlayer(ctx, t, httpURL(gw, "live/"+stream+"/"), 12*time.Second)
			browser <- r
			browserErr <- err
		}()
	}

	first := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream))
	index := httpURL(gw, "live/"+stream+"/index.m3u8")
	if !waitFor(10*time.Second, func() bool { c, _, _ := httpGet(t, index); return c == 200 }) {
		t.Fatal("no playlist from the first publisher")
	}
	media := mediaPlaylistURL(t, gw, "live", stream)
	time.Sleep(3 * time.Second)
	before := getMedia(t, media)
	_ = first.Process.Signal(syscall.SIGKILL) // no FCUnpublish/deleteStream: the connection just drops
	_ = first.Wait()
	time.Sleep(time.Second)

	second := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream))
	if err := second.Wait(); err != nil {
		t.Fatalf("second publisher: %v", err)
	}
	final := getMedia(t, media)
	if !waitFor(5*time.Second, func() bool { final = getMedia(t, media); return final != nil && final.Endlist }) {
		t.Fatal("no EXT-X-ENDLIST after the second publisher unpublished")
	}
	if final.MediaSequence < before.MediaSequence {
		t.Errorf("media sequence went back: %d then %d", before.MediaSequence, final.MediaSequence)
	}
	discontinuities := 0
	for _, s := range final.Segments {
		if s.Discontinuity {
			discontinuities++
		}
	}
	if discontinuities != 1 {
		t.Errorf("want exactly one EXT-X-DISCONTINUITY, got %d", discontinuities)
	}
	if len(final.Segments) <= len(before.Segments) {
		t.Errorf("playlist did not continue: %d segments before the drop, %d at the end", len(before.Segments), len(final.Segments))
	}
	checkMediaPlaylist(t, final, "fmp4")
	if msg := decodeErrors(t, index); msg != "" {
		t.Errorf("decoding across the discontinuity reported: %s", msg)
	}

	if withBrowser {
		if err := <-browserErr; err != nil {
			t.Fatalf("player: %v", err)
		}
		r := <-browser
		checkPlayed(t, r, 5)
	}
}

func browserAvailable() bool {
	for _, n := range []string{"node", "chromium"} {
		if _, err := exec.LookPath(n); err != nil {
			return os.Getenv("CI") != "" // in CI a missing browser fails the test
		}
	}
	return true
}

// checkPlayed asserts the player advanced at least minAdvance seconds of media
// and had no fatal error.
func checkPlayed(t *testing.T, r *playerReport, minAdvance float64) {
	t.Helper()
	if len(r.Samples) == 0 {
		t.Fatal("no samples from the player")
	}
	first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
	if !last.HasHLS {
		t.Errorf("hls.js was not used (state %q)", last.State)
	}
	var fatal []string
	for _, s := range r.Samples {
		fatal = append(fatal, s.FatalErrors...)
	}
	if len(fatal) > 0 {
		t.Errorf("fatal hls.js errors: %s", strings.Join(fatal, ", "))
	}
	if adv := last.CurrentTime - first.CurrentTime; adv < minAdvance {
		t.Errorf("currentTime advanced %.2fs, want at least %.1fs (states %q → %q, errors %v)",
			adv, minAdvance, first.State, last.State, last.Errors)
	}
	// Time must still be advancing at the end (not frozen after a reconnect).
	if n := len(r.Samples); n >= 4 && r.Samples[n-1].CurrentTime-r.Samples[n-4].CurrentTime < 0.5 {
		t.Errorf("playback stalled at the end: currentTime %.2f → %.2f", r.Samples[n-4].CurrentTime, r.Samples[n-1].CurrentTime)
	}
}
