package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livegate/gateway/hls/hlstest"
)

// Rendition groups end to end: one ffmpeg process publishes two renditions
// of one source (one encoder clock) as two RTMP streams, <name>_ghi and
// <name>_glo, which the shared gateways' group rule serves as one ladder
// at /live/<name>/.

// groupRule is the rendition group rule of the shared fMP4 gateways.
var groupRule = GroupConfig{Renditions: []string{"{stream}_ghi", "{stream}_glo"}}

// groupClips encodes, once per process, 640x360 and 320x240 renditions of
// one source in one ffmpeg run: H.264 with B-frames and a 1 s GOP, AAC.
func groupClips(t *testing.T) (hi, lo string) {
	t.Helper()
	x264 := []string{"-t", "6", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-keyint_min", "30",
		"-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "96k"}
	hi = cachedClip(t, "group-hi.flv", func(out string) []string {
		args := []string{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
			"-filter_complex", "[0:v]split=2[hi][v];[v]scale=320:240[lo]",
			"-map", "[hi]", "-map", "1:a"}
		args = append(append(args, x264...), "-b:v", "900k", "-f", "flv", out, "-map", "[lo]", "-map", "1:a")
		return append(append(args, x264...), "-b:v", "300k", "-f", "flv", groupLoPath(out))
	})
	return hi, groupLoPath(hi)
}

// groupLoPath is where groupClips writes the low rendition beside hi.
func groupLoPath(hi string) string { return filepath.Join(filepath.Dir(hi), "group-lo.flv") }

// publishGroup has one ffmpeg process send hi and lo (loops times each, in
// real time) to stream_ghi and stream_glo.
func publishGroup(t *testing.T, ctx context.Context, gw *App, stream string, loops int) *exec.Cmd {
	t.Helper()
	hi, lo := groupClips(t)
	loop := fmt.Sprint(loops - 1)
	return startFFmpeg(t, ctx,
		"-stream_loop", loop, "-re", "-i", hi, "-stream_loop", loop, "-re", "-i", lo,
		"-map", "0", "-c", "copy", "-f", "flv", rtmpURL(gw, "live", stream+"_ghi"),
		"-map", "1", "-c", "copy", "-f", "flv", rtmpURL(gw, "live", stream+"_glo"))
}

// TestE2EGroup: ffprobe decodes both renditions and the audio of a group
// with the sources' exact timestamps, and the renditions' segments line up.
func TestE2EGroup(t *testing.T) {
	t.Parallel()
	requireTool(t, "ffmpeg", "ffprobe")
	requireEncoder(t, "libx264")
	hi, lo := groupClips(t)
	for _, variant := range []string{"fmp4", "lowlatency"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			gw := sharedGateway(t, variant)
			stream := uniqueStream("group")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := publishGroup(t, ctx, gw, stream, 1)

			mv, body := waitMultivariant(t, gw, stream, 10*time.Second)
			// Prometheus sees both renditions live.
			var metrics string
			if !waitFor(5*time.Second, func() bool {
				_, _, b := httpGet(t, httpURL(gw, "metrics"))
				metrics = string(b)
				return strings.Contains(metrics, `livegate_rendition_live{app="live",rendition="v_ghi.m3u8",stream="`+stream+`"} 1`) &&
					strings.Contains(metrics, `livegate_rendition_live{app="live",rendition="v_glo.m3u8",stream="`+stream+`"} 1`)
			}) {
				t.Errorf("metrics lack both renditions live:\n%s", grepLines(metrics, stream))
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			waitEnded(t, gw, "live", stream)
			// The final multivariant playlist has both renditions.
			mv, body = waitMultivariant(t, gw, stream, time.Second)
			t.Logf("multivariant playlist:\n%s", body)
			res := map[string]string{}
			for _, v := range mv.Variants {
				res[v.URI] = v.Resolution
				if v.Audio != "audio" || len(v.Codecs) != 2 || !strings.HasPrefix(v.Codecs[0], "avc1.") || !strings.HasPrefix(v.Codecs[1], "mp4a.40.2") {
					t.Errorf("variant %s: AUDIO %q CODECS %v", v.URI, v.Audio, v.Codecs)
				}
			}
			if res["v_ghi.m3u8"] != "640x360" || res["v_glo.m3u8"] != "320x240" || len(res) != 2 {
				t.Errorf("variants %v, want v_ghi.m3u8 640x360 and v_glo.m3u8 320x240", res)
			}
			if len(mv.Renditions) != 1 || mv.Renditions[0].URI == nil || *mv.Renditions[0].URI != "audio.m3u8" {
				t.Errorf("audio rendition group:\n%s", body)
			}

			base := httpURL(gw, "live/"+stream+"/")
			for name, src := range map[string]string{"v_ghi.m3u8": hi, "v_glo.m3u8": lo} {
				want, _ := probePackets(t, src)
				got, _ := probePackets(t, base+name)
				compareTimestamps(t, want, got, 0.002)
				if errs := decodeErrors(t, base+name); errs != "" {
					t.Errorf("%s: decode errors: %s", name, errs)
				}
			}
			_, wantAudio := probePackets(t, hi)
			_, gotAudio := probePackets(t, base+"audio.m3u8")
			if d := len(gotAudio) - len(wantAudio); d < -2 || d > 2 {
				t.Errorf("audio.m3u8 has %d packets, the source %d", len(gotAudio), len(wantAudio))
			}

			// Same media sequence numbers, same boundaries.
			pls := map[string]*hlstest.MediaPlaylist{}
			for _, name := range []string{"v_ghi.m3u8", "v_glo.m3u8", "audio.m3u8"} {
				_, _, b := httpGet(t, base+name)
				pl, err := hlstest.ParseMediaPlaylist(b)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, b)
				}
				pls[name] = pl
			}
			a, b := pls["v_ghi.m3u8"], pls["v_glo.m3u8"]
			if a.MediaSequence != b.MediaSequence || len(a.Segments) != len(b.Segments) || len(a.Segments) < 5 {
				t.Fatalf("renditions not aligned: MSN %d/%d, %d/%d segments", a.MediaSequence, b.MediaSequence, len(a.Segments), len(b.Segments))
			}
			for i := range a.Segments {
				if d := a.Segments[i].Duration - b.Segments[i].Duration; d > time.Millisecond || d < -time.Millisecond {
					t.Errorf("segment %d: %v vs %v", a.Segments[i].MSN, a.Segments[i].Duration, b.Segments[i].Duration)
				}
			}
			if au := pls["audio.m3u8"]; au.MediaSequence != a.MediaSequence || len(au.Segments) != len(a.Segments) {
				t.Errorf("audio not aligned: MSN %d, %d segments", au.MediaSequence, len(au.Segments))
			}
		})
	}
}

// ladderMenuExpr is ladderExpr switching renditions through the player
// page's quality menu, as a viewer would, and reporting the menu's options.
var ladderMenuExpr = strings.Replace(strings.Replace(ladderExpr,
	"h.currentLevel = other;",
	"{ const q = document.getElementById('quality'); q.value = String(other); q.dispatchEvent(new Event('change')); }", 1),
	"heights: L.heights.slice(),",
	"heights: L.heights.slice(), menu: [...document.querySelectorAll('#quality option')].map((o) => o.textContent), menuShown: !document.getElementById('choices').hidden,", 1)

// TestE2EBrowserGroup: hls.js in Chromium plays a group and the viewer
// switches between its renditions both ways with the page's quality menu.
func TestE2EBrowserGroup(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	requireEncoder(t, "libx264")
	gw := sharedGateway(t, "fmp4")
	stream := uniqueStream("browser-group")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	publishGroup(t, ctx, gw, stream, 5)
	mv, body := waitMultivariant(t, gw, stream, 10*time.Second)
	waitFor(5*time.Second, func() bool {
		mv, body = waitMultivariant(t, gw, stream, time.Second)
		return len(mv.Variants) == 2
	})
	if len(mv.Variants) != 2 {
		t.Fatalf("%d variants, want 2:\n%s", len(mv.Variants), body)
	}
	if !strings.Contains(ladderMenuExpr, "dispatchEvent") || !strings.Contains(ladderMenuExpr, "menuShown") {
		t.Fatal("ladderMenuExpr no longer rewrites ladderExpr")
	}
	raw, err := runPlayerExpr(ctx, t, httpURL(gw, "live/"+stream+"/"), ladderMenuExpr, 16*time.Second)
	if err != nil {
		t.Fatalf("player: %v", err)
	}
	checkLadderPlayed(t, raw)
	var samples []struct {
		Menu      []string `json:"menu"`
		MenuShown bool     `json:"menuShown"`
	}
	if err := json.Unmarshal(raw, &samples); err != nil {
		t.Fatal(err)
	}
	last := samples[len(samples)-1]
	t.Logf("quality menu %q", last.Menu)
	if !last.MenuShown || len(last.Menu) != 3 || last.Menu[0] != "Auto" ||
		!strings.HasPrefix(last.Menu[1], "240p") || !strings.HasPrefix(last.Menu[2], "360p") {
		t.Errorf("quality menu %q shown %v, want Auto, 240p…, 360p…", last.Menu, last.MenuShown)
	}
}

// TestE2EGroupSeparateEncoders: the low rendition comes from another ffmpeg
// process started 3 s later (its own timestamps, placed by arrival), whose
// connection is then lost and which comes back: its media playlist lists
// what it missed as EXT-X-GAP with the high rendition's numbers and
// durations, and continues after a discontinuity.
func TestE2EGroupSeparateEncoders(t *testing.T) {
	t.Parallel()
	requireTool(t, "ffmpeg", "ffprobe")
	requireEncoder(t, "libx264")
	hi, lo := groupClips(t)
	gw := sharedGateway(t, "lowlatency")
	stream := uniqueStream("group-sep")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	hiCmd := startFFmpeg(t, ctx, "-stream_loop", "2", "-re", "-i", hi, "-c", "copy", "-f", "flv", rtmpURL(gw, "live", stream+"_ghi"))
	time.Sleep(3 * time.Second)
	lost, lose := context.WithTimeout(ctx, 4*time.Second) // killed: the connection is lost
	defer lose()
	_ = startFFmpeg(t, lost, "-re", "-i", lo, "-c", "copy", "-f", "flv", rtmpURL(gw, "live", stream+"_glo")).Wait()
	time.Sleep(3 * time.Second)
	loCmd := startFFmpeg(t, ctx, "-stream_loop", "1", "-re", "-i", lo, "-c", "copy", "-f", "flv", rtmpURL(gw, "live", stream+"_glo"))
	if err := hiCmd.Wait(); err != nil {
		t.Fatalf("ffmpeg (high): %v", err)
	}
	if err := loCmd.Wait(); err != nil {
		t.Fatalf("ffmpeg (low): %v", err)
	}
	waitEnded(t, gw, "live", stream)

	base := httpURL(gw, "live/"+stream+"/")
	pls := map[string]*hlstest.MediaPlaylist{}
	for _, name := range []string{"v_ghi.m3u8", "v_glo.m3u8"} {
		_, _, b := httpGet(t, base+name)
		pl, err := hlstest.ParseMediaPlaylist(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if err := hlstest.CheckMediaPlaylist(nil, pl, hlstest.Rules{FMP4: true, LowLatency: true}); err != nil {
			t.Errorf("%s: %v\n%s", name, err, b)
		}
		pls[name] = pl
		t.Cleanup(func() {
			if t.Failed() || testing.Verbose() {
				t.Logf("%s:\n%s", name, b)
			}
		})
	}
	hiPl, loPl := pls["v_ghi.m3u8"], pls["v_glo.m3u8"]
	hiSegs := map[int64]hlstest.Segment{}
	for _, s := range hiPl.Segments {
		hiSegs[s.MSN] = s
	}
	gaps, discAfterGap, prevGap := 0, false, false
	for _, s := range loPl.Segments {
		if s.Gap {
			gaps++
			// It ends where v_ghi's segment ends; the first gap may start
			// later, where v_glo's media ended.
			h, ok := hiSegs[s.MSN]
			end, hiEnd := s.PDT.Add(s.Duration), h.PDT.Add(h.Duration)
			if !ok || h.Gap || abs(end.Sub(hiEnd).Seconds()) > 0.005 || s.PDT.Before(h.PDT.Add(-5*time.Millisecond)) ||
				!prevGap && s.Duration > h.Duration || prevGap && abs((s.Duration-h.Duration).Seconds()) > 0.001 {
				t.Errorf("gap segment %d (%v at %v) does not match v_ghi's %+v", s.MSN, s.Duration, s.PDT, h)
			}
			if code, _, _ := httpGetQuiet(base + s.URI); code != 404 {
				t.Errorf("gap segment %s answered %d, want 404", s.URI, code)
			}
		} else if prevGap && s.Discontinuity {
			discAfterGap = true
		}
		if s.Duration > 1100*time.Millisecond {
			// 1 s GOPs: a cut waited for a later key frame. Seen once in
			// CI under full load (two 1.467 s segments after the return),
			// not reproduced since; logged, not failed (see the notes).
			t.Logf("v_glo segment %d lasts %v", s.MSN, s.Duration)
		}
		prevGap = s.Gap
	}
	if gaps < 2 || !discAfterGap {
		t.Errorf("v_glo: %d gap segments, discontinuity after them %v; want 2 or more and a discontinuity", gaps, discAfterGap)
	}
	// The high rendition, led throughout or until its end, decodes whole.
	want, _ := probePackets(t, hi)
	got, _ := probePackets(t, base+"v_ghi.m3u8")
	if len(got) != 3*len(want) {
		t.Errorf("v_ghi.m3u8: %d video packets, want %d (three loops)", len(got), 3*len(want))
	}
	for _, name := range []string{"v_ghi.m3u8", "audio.m3u8"} {
		if errs := decodeErrors(t, base+name); errs != "" {
			t.Errorf("%s: decode errors: %s", name, errs)
		}
	}
}
