package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/livegate/gateway/ingest/rtmptest"
	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
)

// Modern codecs and renditions in the browser: real AV1 / VP9 / H.264
// bitstreams published through Enhanced RTMP (our test publisher, in real
// time) and played by the bundled player page with hls.js in headless
// Chromium.

// requireEncoder skips (fails in CI) when this ffmpeg lacks an encoder.
func requireEncoder(t *testing.T, name string) {
	t.Helper()
	requireTool(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[1] == name {
				return
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("ffmpeg encoder %s is required in CI", name)
	}
	t.Skipf("ffmpeg has no %s encoder", name)
}

// streamSeq makes stream names unique within the process, so that -count=N
// does not republish onto a stream the previous run left in the shared
// gateway (within its reconnect window and retention).
var streamSeq atomic.Int64

func uniqueStream(prefix string) string {
	return prefix + "-" + strconv.FormatInt(streamSeq.Add(1), 10)
}

// loopTracks repeats tracks n times with continuous timestamps, so that a
// short clip makes a long live publication. The period is the first video
// track's length (frames × frame interval); audio frames at or past it are
// dropped so that loops do not overlap. The sequence starts are kept once.
func loopTracks(n int, tracks ...*ertmp.Track) []*ertmp.Track {
	var period time.Duration
	for _, tr := range tracks {
		if tr.Video && len(tr.Frames) > 1 {
			f := tr.Frames
			period = f[len(f)-1].DTS + (f[1].DTS - f[0].DTS)
			break
		}
	}
	out := make([]*ertmp.Track, len(tracks))
	for i, tr := range tracks {
		c := *tr
		c.Frames = nil
		for k := 0; k < n; k++ {
			off := time.Duration(k) * period
			for _, f := range tr.Frames {
				if !tr.Video && f.DTS >= period {
					continue
				}
				f.DTS += off
				f.PTS += off
				c.Frames = append(c.Frames, f)
			}
		}
		out[i] = &c
	}
	return out
}

// publishERTMPLive publishes tracks in layout at real-time pace in the
// background; the returned stop closes the connection (ending the stream)
// and reports the publisher's error, if it failed before being stopped.
func publishERTMPLive(t *testing.T, gw *App, stream string, layout ertmp.Layout, tracks ...*ertmp.Track) (stop func() error) {
	t.Helper()
	p, err := ertmp.Publish(gw.RTMPAddr().String(), "live", stream, rtmptest.Options{Timeout: 10 * time.Second}, tracks...)
	if err != nil {
		t.Fatal(err)
	}
	msgs := ertmp.Messages(layout, ertmp.Options{NanoOffsets: true, CodedFramesX: true}, tracks...)
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		err := p.Send(msgs, 1)
		select {
		case <-stopped:
			err = nil // the connection was closed under it
		default:
		}
		done <- err
	}()
	var once bool
	stop = func() error {
		if once {
			return nil
		}
		once = true
		close(stopped)
		p.Close()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitMultivariant waits for the stream's multivariant playlist.
func waitMultivariant(t *testing.T, gw *App, stream string, d time.Duration) (*playlist.Multivariant, string) {
	t.Helper()
	var mv *playlist.Multivariant
	var body []byte
	waitFor(d, func() bool {
		code, _, b := httpGet(t, httpURL(gw, "live/"+stream+"/index.m3u8"))
		if code != 200 {
			return false
		}
		pl, err := playlist.Unmarshal(b)
		if err != nil {
			return false
		}
		mv, _ = pl.(*playlist.Multivariant)
		body = b
		return mv != nil && len(mv.Variants) > 0
	})
	if mv == nil {
		t.Fatalf("no multivariant playlist for %s within %v", stream, d)
	}
	return mv, string(body)
}

// runPlayerExpr is runPlayer with a custom sampling expression; it returns
// the raw samples for the caller to decode.
func runPlayerExpr(ctx context.Context, t *testing.T, url, expr string, d time.Duration) (json.RawMessage, error) {
	cmd := exec.CommandContext(ctx, "node", "--experimental-websocket", "--no-warnings",
		filepath.Join("..", "..", "httpserver", "testdata", "cdp.mjs"),
		"--url", url, "--every", "500", "--timeout", strconv.Itoa(int(d.Milliseconds())),
		"--eval", expr, "--chromium", "chromium")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	if testing.Verbose() {
		t.Logf("browser console:\n%s", stderr.String())
	}
	return out, nil
}

// TestE2EBrowserModernCodecs publishes AV1 and VP9 (with Opus) through
// Enhanced RTMP and plays them with hls.js in Chromium.
func TestE2EBrowserModernCodecs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, encoder, tag string
		args               []string
	}{
		{"AV1", "libaom-av1", "av01.", av1Args},
		{"VP9", "libvpx-vp9", "vp09.", vp9Args},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireBrowser(t)
			requireEncoder(t, tc.encoder)
			dir := t.TempDir()
			start := time.Now()
			v := ivfClip(t, dir, tc.name, tc.args...)
			a := opusClip(t, dir)
			t.Logf("encoded 5 s of %s + Opus in %v", tc.name, time.Since(start).Round(time.Millisecond))

			gw := sharedGateway(t, "fmp4")
			stream := uniqueStream("browser-" + strings.ToLower(tc.name))
			// 25 s of publication: more than the player needs (it is
			// stopped once the player is done).
			stop := publishERTMPLive(t, gw, stream, ertmp.Single, loopTracks(5, v, a)...)
			_, body := waitMultivariant(t, gw, stream, 10*time.Second)
			if !strings.Contains(body, tc.tag) {
				t.Errorf("multivariant playlist does not name %s:\n%s", tc.tag, body)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := runPlayer(ctx, t, httpURL(gw, "live/"+stream+"/"), 10*time.Second)
			if err != nil {
				t.Fatalf("player: %v", err)
			}
			if err := stop(); err != nil {
				t.Errorf("publisher: %v", err)
			}
			checkPlayed(t, r, 5)
			first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
			t.Logf("%s: currentTime %.2f → %.2f, state %q, errors %v", tc.name, first.CurrentTime, last.CurrentTime, last.State, last.Errors)
		})
	}
}

// ladderExpr samples the player like sampleExpr and drives rendition
// switches: once 2 s have played it forces the level not playing
// (hls.currentLevel, an immediate switch), and 3 s after that level is
// switched to, the other one back. It reports the levels, the forced and
// switched levels, and the decoded picture heights in order.
const ladderExpr = `(() => {
  const p = window.__player || {};
  const v = p.video || document.querySelector('video');
  const h = p.hls;
  const L = window.__ladder || (window.__ladder = { hls: null, start: -1, forced: [], switched: [], heights: [] });
  if (h && L.hls !== h) {
    L.hls = h;
    h.on('hlsLevelSwitched', (_, d) => L.switched.push(d.level));
  }
  const ct = v ? v.currentTime : -1;
  if (v && v.videoHeight && L.heights[L.heights.length - 1] !== v.videoHeight) L.heights.push(v.videoHeight);
  const n = h && h.levels ? h.levels.length : 0;
  for (const f of L.forced) {
    if (f.reachedAt === undefined && L.switched.slice(f.after).includes(f.level)) f.reachedAt = ct;
  }
  if (n >= 2 && ct > 0 && L.switched.length > 0) {
    if (L.start < 0) L.start = ct;
    const cur = L.switched[L.switched.length - 1];
    const other = cur === 0 ? n - 1 : 0;
    const last = L.forced[L.forced.length - 1];
    if ((L.forced.length === 0 && ct - L.start >= 2) ||
        (L.forced.length === 1 && last.reachedAt !== undefined && ct - last.reachedAt >= 3)) {
      L.forced.push({ level: other, after: L.switched.length });
      h.currentLevel = other;
    }
  }
  const errs = p.errors || [];
  return {
    state: p.state || '',
    currentTime: ct,
    hasHls: !!h,
    fatalErrors: errs.filter((e) => e && e.fatal).map((e) => e.details || String(e)),
    errors: errs.map((e) => (e && (e.details || e.type)) || String(e)),
    levels: h && h.levels ? h.levels.map((l) => ({ height: l.height, bitrate: l.bitrate, codecs: l.videoCodec || '' })) : [],
    currentLevel: h ? h.currentLevel : -2,
    forced: L.forced.map((f) => ({ level: f.level, reached: f.reachedAt !== undefined })),
    switched: L.switched.slice(),
    heights: L.heights.slice(),
  };
})()`

type ladderSample struct {
	Levels []struct {
		Height  int    `json:"height"`
		Bitrate int    `json:"bitrate"`
		Codecs  string `json:"codecs"`
	} `json:"levels"`
	CurrentLevel int `json:"currentLevel"`
	Forced       []struct {
		Level   int  `json:"level"`
		Reached bool `json:"reached"`
	} `json:"forced"`
	Switched []int `json:"switched"`
	Heights  []int `json:"heights"`
}

// avcClip encodes 5 s of size H.264 at rate (main profile, no B-frames,
// 1 s GOP, constant rate) and reads its frames.
func avcClip(t *testing.T, dir, size, rate string) *ertmp.Track {
	t.Helper()
	p := ertmpEncode(t, dir, "avc-"+size+".ts", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-t", "5",
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "0", "-g", "30", "-keyint_min", "30",
		"-sc_threshold", "0", "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-pix_fmt", "yuv420p", "-f", "mpegts")
	tr, err := ertmp.ReadMPEGTSAVC(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestE2EBrowserLadder publishes a two-rendition H.264 ladder (320x240 and
// 640x360, same GOP) with Opus as Enhanced RTMP ManyTracks, checks the
// multivariant playlist offers both, and has hls.js play it and switch
// renditions both ways.
func TestE2EBrowserLadder(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	requireEncoder(t, "libx264")
	cfg := testConfig("fmp4")
	cfg.HLS.Ladder = true
	dir := t.TempDir()
	start := time.Now()
	lo, hi, a := avcClip(t, dir, "320x240", "300k"), avcClip(t, dir, "640x360", "900k"), opusClip(t, dir)
	lo.ID, hi.ID, a.ID = 0, 1, 0
	t.Logf("encoded the ladder in %v", time.Since(start).Round(time.Millisecond))

	gw := startGateway(t, cfg)
	stream := uniqueStream("browser-ladder")
	stop := publishERTMPLive(t, gw, stream, ertmp.LayoutManyTracks, loopTracks(6, lo, hi, a)...)
	mv, body := waitMultivariant(t, gw, stream, 10*time.Second)
	t.Logf("multivariant playlist:\n%s", body)
	if len(mv.Variants) != 2 {
		t.Fatalf("%d variants, want 2:\n%s", len(mv.Variants), body)
	}
	sizes := map[string]bool{}
	for _, v := range mv.Variants {
		if v.Resolution != "" {
			sizes[v.Resolution] = true
		}
	}
	if !sizes["320x240"] || !sizes["640x360"] {
		t.Errorf("variant resolutions %v, want 320x240 and 640x360:\n%s", sizes, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw, err := runPlayerExpr(ctx, t, httpURL(gw, "live/"+stream+"/"), ladderExpr, 16*time.Second)
	if err != nil {
		t.Fatalf("player: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("publisher: %v", err)
	}
	checkLadderPlayed(t, raw)
}

// checkLadderPlayed checks ladderExpr samples: hls.js played with two levels
// and switched to each forced level, decoding both picture heights.
func checkLadderPlayed(t *testing.T, raw json.RawMessage) {
	t.Helper()
	r := &playerReport{}
	var ls []ladderSample
	if err := json.Unmarshal(raw, &r.Samples); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ls); err != nil {
		t.Fatal(err)
	}
	checkPlayed(t, r, 8)
	last := ls[len(ls)-1]
	t.Logf("levels %+v, forced %v, switched %v, picture heights %v, currentTime %.2f → %.2f",
		last.Levels, last.Forced, last.Switched, last.Heights, r.Samples[0].CurrentTime, r.Samples[len(r.Samples)-1].CurrentTime)
	if len(last.Levels) != 2 {
		t.Fatalf("hls.js has %d levels, want 2", len(last.Levels))
	}
	if len(last.Forced) != 2 {
		t.Fatalf("only %d forced switches happened (switched %v): the first forced level was never reached", len(last.Forced), last.Switched)
	}
	// Each forced level was switched to (LEVEL_SWITCHED after the forcing).
	if l0, l1 := last.Forced[0], last.Forced[1]; !l0.Reached || !l1.Reached || l0.Level == l1.Level {
		t.Errorf("forced switches %+v (LEVEL_SWITCHED %v), want both levels reached", last.Forced, last.Switched)
	}
	hs := map[int]bool{}
	for _, h := range last.Heights {
		hs[h] = true
	}
	if !hs[240] || !hs[360] {
		t.Errorf("decoded picture heights %v, want both 240 and 360", last.Heights)
	}
}

// audioMenuExpr samples the player like sampleExpr and, once 2 s have
// played, picks the other audio rendition in the page's audio menu; it
// reports the audio tracks, the menu and the audio tracks switched to.
const audioMenuExpr = `(() => {
  const p = window.__player || {};
  const v = p.video || document.querySelector('video');
  const h = p.hls;
  const A = window.__audio || (window.__audio = { hls: null, start: -1, picked: -1, pickedAt: -1, switched: [] });
  if (h && A.hls !== h) {
    A.hls = h;
    h.on('hlsAudioTrackSwitched', (_, d) => A.switched.push(d.id));
  }
  const ct = v ? v.currentTime : -1;
  const n = h && h.audioTracks ? h.audioTracks.length : 0;
  if (n >= 2 && ct > 0) {
    if (A.start < 0) A.start = ct;
    if (A.picked < 0 && ct - A.start >= 2) {
      const a = document.getElementById('audio');
      A.picked = h.audioTrack === 0 ? 1 : 0;
      A.pickedAt = ct;
      a.value = String(A.picked);
      a.dispatchEvent(new Event('change'));
    }
  }
  const errs = p.errors || [];
  return {
    state: p.state || '',
    currentTime: ct,
    hasHls: !!h,
    fatalErrors: errs.filter((e) => e && e.fatal).map((e) => e.details || String(e)),
    errors: errs.map((e) => (e && (e.details || e.type)) || String(e)),
    tracks: h && h.audioTracks ? h.audioTracks.map((t) => t.name) : [],
    menu: [...document.querySelectorAll('#audio option')].map((o) => o.textContent),
    menuShown: !document.getElementById('audio-choice').hidden,
    picked: A.picked,
    pickedAt: A.pickedAt,
    audioTrack: h ? h.audioTrack : -1,
    switched: A.switched.slice(),
  };
})()`

// TestE2EBrowserAlternateAudio publishes H.264 with two Opus tracks as
// Enhanced RTMP ManyTracks; hls.js plays it, the page's audio menu lists
// both renditions, and picking the other one switches to it while playback
// goes on.
func TestE2EBrowserAlternateAudio(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	requireEncoder(t, "libx264")
	requireEncoder(t, "libopus")
	dir := t.TempDir()
	v, a0 := avcClip(t, dir, "320x240", "300k"), opusClip(t, dir)
	a1 := *a0
	v.ID, a0.ID, a1.ID = 0, 0, 1
	gw := startGateway(t, testConfig("fmp4"))
	stream := uniqueStream("browser-audio")
	stop := publishERTMPLive(t, gw, stream, ertmp.LayoutManyTracks, loopTracks(5, v, a0, &a1)...)
	mv, body := waitMultivariant(t, gw, stream, 10*time.Second)
	if len(mv.Variants) != 1 || len(mv.Renditions) != 2 {
		t.Fatalf("want one variant and two audio renditions:\n%s", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw, err := runPlayerExpr(ctx, t, httpURL(gw, "live/"+stream+"/"), audioMenuExpr, 12*time.Second)
	if err != nil {
		t.Fatalf("player: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("publisher: %v", err)
	}
	r := &playerReport{}
	if err := json.Unmarshal(raw, &r.Samples); err != nil {
		t.Fatal(err)
	}
	checkPlayed(t, r, 6)
	var s []struct {
		Tracks     []string `json:"tracks"`
		Menu       []string `json:"menu"`
		MenuShown  bool     `json:"menuShown"`
		Picked     int      `json:"picked"`
		PickedAt   float64  `json:"pickedAt"`
		AudioTrack int      `json:"audioTrack"`
		Switched   []int    `json:"switched"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	last := s[len(s)-1]
	t.Logf("audio tracks %q, menu %q, picked %d at %.2f s, switched %v, now %d, played to %.2f s",
		last.Tracks, last.Menu, last.Picked, last.PickedAt, last.Switched, last.AudioTrack, r.Samples[len(r.Samples)-1].CurrentTime)
	if len(last.Tracks) != 2 || !last.MenuShown || len(last.Menu) != 2 || last.Menu[0] != "Audio 1" || last.Menu[1] != "Audio 2" {
		t.Fatalf("audio tracks %q, menu %q shown %v: want two", last.Tracks, last.Menu, last.MenuShown)
	}
	if last.Picked < 0 || last.AudioTrack != last.Picked || !slices.Contains(last.Switched, last.Picked) {
		t.Errorf("picked audio track %d, now %d, switched %v", last.Picked, last.AudioTrack, last.Switched)
	}
	if end := r.Samples[len(r.Samples)-1].CurrentTime; last.PickedAt < 0 || end < last.PickedAt+2 {
		t.Errorf("playback reached %.2f s, want 2 s past the switch at %.2f s", end, last.PickedAt)
	}
}
