package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
)

// End-to-end tests run the real gateway in-process on loopback and drive it
// with real publishers (ffmpeg, GStreamer) and consumers (ffprobe, gohlslib's
// Client, hls.js in headless Chromium). Without the tools they skip, except
// in CI (CI=true), where a missing tool is a failure.

var sharedGateways struct {
	sync.Mutex
	byVariant map[string]*App
}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedGateways.Lock()
	for _, a := range sharedGateways.byVariant {
		a.Close()
	}
	sharedGateways.Unlock()
	os.Exit(code)
}

// testConfig is the configuration end-to-end tests run with: loopback, short
// segments so clips stay short, a window long enough to hold a whole clip.
func testConfig(variant string) Config {
	cfg := DefaultConfig()
	cfg.Log.Level = "warn"
	if testing.Verbose() {
		cfg.Log.Level = "info"
	}
	cfg.RTMP.Listen = "127.0.0.1:0"
	cfg.RTMPS.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HLS.Variant = variant
	cfg.HLS.SegmentDuration = time.Second
	cfg.HLS.PartDuration = 200 * time.Millisecond
	cfg.HLS.SegmentCount = 30
	cfg.HLS.ReconnectWindow = 5 * time.Second
	cfg.HLS.Retention = 60 * time.Second
	cfg.Shutdown.ServeEnded = 0 // tests close many gateways; the shutdown test sets its own
	return cfg
}

// startGateway starts a gateway owned by the test.
func startGateway(t *testing.T, cfg Config) *App {
	t.Helper()
	app, err := NewApp(cfg, newLogger(cfg.Log, os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	return app
}

// sharedGateway returns the process-wide gateway for a variant; many tests
// publish distinct stream names to it.
func sharedGateway(t *testing.T, variant string) *App {
	t.Helper()
	sharedGateways.Lock()
	defer sharedGateways.Unlock()
	if a := sharedGateways.byVariant[variant]; a != nil {
		return a
	}
	cfg := testConfig(variant)
	if variant != "mpegts" {
		cfg.HLS.Groups = []GroupConfig{groupRule}
	}
	app, err := NewApp(cfg, newLogger(cfg.Log, os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	if sharedGateways.byVariant == nil {
		sharedGateways.byVariant = map[string]*App{}
	}
	sharedGateways.byVariant[variant] = app
	return app
}

func rtmpURL(a *App, app, key string) string {
	return fmt.Sprintf("rtmp://%s/%s/%s", a.RTMPAddr(), app, key)
}

func httpURL(a *App, path string) string {
	return fmt.Sprintf("http://%s/%s", a.HTTPAddr(), strings.TrimPrefix(path, "/"))
}

func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI (installed by .ci/run): %v", n, err)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

var clips struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

// clip returns an FLV file encoded once per process with ffmpeg: 320x240
// testsrc2 at 30 fps, H.264 with B-frames and a 1 s GOP, AAC stereo.
func clip(t *testing.T, seconds int) string {
	t.Helper()
	return cachedClip(t, fmt.Sprintf("clip%ds.flv", seconds), func(out string) []string {
		return []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
			"-t", strconv.Itoa(seconds),
			"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p",
			"-c:a", "aac", "-ac", "2", "-b:a", "96k",
			"-f", "flv", out}
	})
}

// cachedClip runs ffmpeg once per process with the arguments args gives
// for the output path of name in the clips directory, and returns that path.
func cachedClip(t *testing.T, name string, args func(out string) []string) string {
	t.Helper()
	requireTool(t, "ffmpeg")
	clips.Lock()
	defer clips.Unlock()
	if p, ok := clips.paths[name]; ok {
		return p
	}
	if clips.dir == "" {
		d, err := os.MkdirTemp("", "gateway-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		clips.dir = d
		clips.paths = map[string]string{}
	}
	p := filepath.Join(clips.dir, name)
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args(p)...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("encode %s: %v\n%s", name, err, out)
	}
	clips.paths[name] = p
	return p
}

// publishFFmpeg starts ffmpeg sending file in real time to url; it returns the
// running command (its Wait is the caller's).
func publishFFmpeg(t *testing.T, ctx context.Context, file, url string, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"-re"}, extra...)
	return startFFmpeg(t, ctx, append(args, "-i", file, "-c", "copy", "-f", "flv", url)...)
}

// startFFmpeg starts ffmpeg with args (quiet); it returns the running
// command (its Wait is the caller's). A command still running when the
// test ends is killed; its stderr is logged if the test failed.
func startFFmpeg(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("ffmpeg stderr: %s", stderr.String())
		}
	})
	return cmd
}

// packet is one packet as ffprobe reports it.
type packet struct {
	Type  string
	PTS   float64 // seconds
	DTS   float64
	Key   bool
	Size  int
	Count int
}

// probePackets lists the packets of input's first video (and audio) streams.
func probePackets(t *testing.T, input string) (video, audio []packet) {
	t.Helper()
	requireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"-show_entries", "packet=codec_type,pts_time,dts_time,flags,size",
		"-of", "json", input).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v\n%s", input, err, stderr)
	}
	var doc struct {
		Packets []struct {
			CodecType string `json:"codec_type"`
			PTS       string `json:"pts_time"`
			DTS       string `json:"dts_time"`
			Flags     string `json:"flags"`
			Size      string `json:"size"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Packets {
		pts, _ := strconv.ParseFloat(p.PTS, 64)
		dts, _ := strconv.ParseFloat(p.DTS, 64)
		size, _ := strconv.Atoi(p.Size)
		pk := packet{Type: p.CodecType, PTS: pts, DTS: dts, Key: strings.Contains(p.Flags, "K"), Size: size}
		switch p.CodecType {
		case "video":
			video = append(video, pk)
		case "audio":
			audio = append(audio, pk)
		}
	}
	return video, audio
}

// decodeErrors fully decodes input with ffmpeg and returns what it reported.
func decodeErrors(t *testing.T, input string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-i", input, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// compareTimestamps checks that got reproduces want's DTS and PTS exactly
// (relative to the first DTS), within tol seconds.
func compareTimestamps(t *testing.T, want, got []packet, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d video packets, source has %d", len(got), len(want))
	}
	n := min(len(got), len(want))
	if n == 0 {
		t.Fatal("no video packets")
	}
	w0, g0 := want[0].DTS, got[0].DTS
	bad := 0
	for i := range n {
		wd, gd := want[i].DTS-w0, got[i].DTS-g0
		wp, gp := want[i].PTS-w0, got[i].PTS-g0
		if abs(wd-gd) > tol || abs(wp-gp) > tol || want[i].Key != got[i].Key {
			if bad < 5 {
				t.Errorf("packet %d: source dts %.4f pts %.4f key %v, HLS dts %.4f pts %.4f key %v",
					i, wd, wp, want[i].Key, gd, gp, got[i].Key)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d video packets differ", bad, n)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// httpGet fetches url and returns status, headers and body.
func httpGet(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// waitFor polls f every 20 ms until it returns true or d passes.
func waitFor(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f()
}

var _ = zerolog.Nop

// streamInfoView wraps hls.StreamInfo with assertions.
type streamInfoView struct{ hls.StreamInfo }

func (s *streamInfoView) has(kind, codec string, w, h int) bool {
	for _, tr := range s.Tracks {
		if tr.Kind == kind && tr.Codec == codec && tr.Width == w && tr.Height == h {
			return true
		}
	}
	return false
}

func (s *streamInfoView) hasAudio(codec string, rate, channels int) bool {
	for _, tr := range s.Tracks {
		if tr.Kind == "audio" && tr.Codec == codec && tr.SampleRate == rate && tr.Channels == channels {
			return true
		}
	}
	return false
}

// streamInfo returns the gateway's view of app/stream, nil when unknown.
func streamInfo(t *testing.T, gw *App, app, stream string) *streamInfoView {
	t.Helper()
	for _, s := range gw.hls.Streams() {
		if s.App == app && s.Name == stream {
			return &streamInfoView{s}
		}
	}
	return nil
}

// httpGetQuiet is httpGet for goroutines: errors read as status 0.
func httpGetQuiet(url string) (int, http.Header, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// waitEnded waits until app/stream carries EXT-X-ENDLIST (the publisher
// unpublished) and returns the gateway's view of it.
func waitEnded(t *testing.T, gw *App, app, stream string) *streamInfoView {
	t.Helper()
	var info *streamInfoView
	if !waitFor(10*time.Second, func() bool { info = streamInfo(t, gw, app, stream); return info != nil && info.Ended }) {
		t.Fatalf("%s/%s did not end cleanly: %+v", app, stream, info)
	}
	return info
}
