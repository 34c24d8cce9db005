package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest"
	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
)

// Enhanced RTMP publishers (our E-RTMP test publisher, sending real x265
// and libopus bitstreams) into the fMP4 gateway: the HLS output must decode
// with the right codecs and carry the source's timestamps.

// ertmpEncode encodes a file into dir once (per name) with ffmpeg.
func ertmpEncode(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	requireTool(t, "ffmpeg", "ffprobe")
	ertmpMedia.Lock()
	defer ertmpMedia.Unlock()
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if _, err := ertmp.Encode(p, args...); err != nil {
		t.Fatal(err)
	}
	return p
}

// ertmpMedia serialises the encodes of parallel subtests.
var ertmpMedia sync.Mutex

// hevcClip is 5 s of testsrc2 at 30 fps in H.265 with B-frames and a 1 s GOP.
func hevcClip(t *testing.T, dir, size string) *ertmp.Track {
	p := ertmpEncode(t, dir, "hevc-"+size+".ts", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-t", "5",
		"-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-x265-params", "bframes=2:keyint=30:min-keyint=30:scenecut=0:log-level=error", "-f", "mpegts")
	tr, err := ertmp.ReadMPEGTSHEVC(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// ivfClip encodes 5 s of 320x240 video with a 1 s GOP into IVF with the
// given ffmpeg codec arguments (AV1 or VP9) and reads its frames.
func ivfClip(t *testing.T, dir, name string, codecArgs ...string) *ertmp.Track {
	args := append([]string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "5"}, codecArgs...)
	args = append(args, "-g", "30", "-keyint_min", "30", "-b:v", "300k", "-pix_fmt", "yuv420p", "-f", "ivf")
	tr, err := ertmp.ReadIVF(ertmpEncode(t, dir, name+".ivf", args...))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Realtime encoder settings: no lag, no hidden alt-ref frames; fast.
var (
	av1Args = []string{"-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-row-mt", "1"}
	vp9Args = []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"}
)

// opusClip is 5 s of a 440 Hz stereo sine in Opus.
func opusClip(t *testing.T, dir string) *ertmp.Track {
	p := ertmpEncode(t, dir, "opus.ogg", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "5",
		"-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-f", "ogg")
	tr, err := ertmp.ReadOggOpus(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// streamCodecs returns the codec names of input's streams, by type.
func streamCodecs(t *testing.T, input string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height",
		"-of", "json", input).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	var doc struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, s := range doc.Streams {
		m[s.CodecType] = s.CodecName
	}
	return m
}

// framePackets turns a source track into the packets ffprobe should report.
func framePackets(tr *ertmp.Track) []packet {
	out := make([]packet, len(tr.Frames))
	for i, f := range tr.Frames {
		out[i] = packet{Type: "video", DTS: f.DTS.Seconds(), PTS: f.PTS.Seconds(), Key: f.Key}
	}
	return out
}

func TestE2EERTMP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // removed once every subtest is done
	for _, tc := range []struct {
		name    string
		variant string
		// codec is the video codec as the gateway and ffprobe name it.
		codec, probeName string
		layout           ertmp.Layout
		// tracks returns every published track and the video one served
		// (the first video track of the publication).
		tracks func(t *testing.T) (all []*ertmp.Track, served *ertmp.Track, w, h int)
	}{
		{"single track", "fmp4", "H265", "hevc", ertmp.Single, func(t *testing.T) ([]*ertmp.Track, *ertmp.Track, int, int) {
			v := hevcClip(t, dir, "320x240")
			return []*ertmp.Track{v, opusClip(t, dir)}, v, 320, 240
		}},
		// MPEG-TS carries the HEVC (stream type 0x24) and leaves Opus out.
		{"single track in MPEG-TS", "mpegts", "H265", "hevc", ertmp.Single, func(t *testing.T) ([]*ertmp.Track, *ertmp.Track, int, int) {
			v := hevcClip(t, dir, "320x240")
			return []*ertmp.Track{v, opusClip(t, dir)}, v, 320, 240
		}},
		// Two renditions and the audio in ManyTracks messages: each
		// (kind, track id) is its own track; the segmenter serves the
		// first video track.
		{"AV1", "fmp4", "AV1", "av1", ertmp.Single, func(t *testing.T) ([]*ertmp.Track, *ertmp.Track, int, int) {
			requireEncoder(t, "libaom-av1")
			v := ivfClip(t, dir, "av1", av1Args...)
			return []*ertmp.Track{v, opusClip(t, dir)}, v, 320, 240
		}},
		{"VP9", "fmp4", "VP9", "vp9", ertmp.Single, func(t *testing.T) ([]*ertmp.Track, *ertmp.Track, int, int) {
			requireEncoder(t, "libvpx-vp9")
			v := ivfClip(t, dir, "vp9", vp9Args...)
			return []*ertmp.Track{v, opusClip(t, dir)}, v, 320, 240
		}},
		{"multitrack", "fmp4", "H265", "hevc", ertmp.LayoutManyTracks, func(t *testing.T) ([]*ertmp.Track, *ertmp.Track, int, int) {
			hi, lo, a := *hevcClip(t, dir, "640x360"), *hevcClip(t, dir, "320x240"), *opusClip(t, dir)
			hi.ID, lo.ID, a.ID = 0, 1, 0
			return []*ertmp.Track{&hi, &lo, &a}, &hi, 640, 360
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tracks, served, w, h := tc.tracks(t)
			gw := sharedGateway(t, tc.variant)
			stream := uniqueStream("ertmp")

			p, err := ertmp.Publish(gw.RTMPAddr().String(), "live", stream, rtmptest.Options{Timeout: 10 * time.Second}, tracks...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			// E-RTMP v2: the server states its support in the _result.
			props, _ := p.Connected.Object.(amf.Object)
			vm, _ := props.GetObject("videoFourCcInfoMap")
			if ex, _ := props.GetNumber("capsEx"); ex == 0 || len(vm) == 0 {
				t.Errorf("connect _result properties %v", props)
			}
			fourCC := map[string]string{"H265": "hvc1", "AV1": "av01", "VP9": "vp09"}[tc.codec]
			if flags, _ := vm.GetNumber(fourCC); int(flags)&ertmp.CanForward == 0 {
				t.Errorf("%s not forwarded: %v", fourCC, vm)
			}

			msgs := ertmp.Messages(tc.layout, ertmp.Options{NanoOffsets: true, CodedFramesX: true}, tracks...)
			if err := p.Send(msgs, 4); err != nil {
				t.Fatal(err)
			}
			if err := p.Unpublish(stream); err != nil {
				t.Fatal(err)
			}
			var info *streamInfoView
			if !waitFor(15*time.Second, func() bool { info = streamInfo(t, gw, "live", stream); return info != nil && info.Ended }) {
				t.Fatalf("stream did not end: %+v", info)
			}
			if !info.has("video", tc.codec, w, h) || (tc.variant != "mpegts" && !info.hasAudio("Opus", 48000, 2)) {
				t.Errorf("tracks %+v, want %s %dx%d and Opus 48 kHz stereo", info.Tracks, tc.codec, w, h)
			}

			index := httpURL(gw, "live/"+stream+"/index.m3u8")
			videoURL, audioURL := index, index
			if tc.layout == ertmp.LayoutManyTracks {
				// An adaptive ladder: a variant per video track (v<track id>.m3u8)
				// and the shared audio group (a<track id>.m3u8).
				code, _, body := httpGet(t, index)
				pl, err := playlist.Unmarshal(body)
				mv, ok := pl.(*playlist.Multivariant)
				if code != 200 || err != nil || !ok || len(mv.Variants) != 2 || len(mv.Renditions) != 1 {
					t.Fatalf("multivariant playlist (status %d, %v): want 2 variants and an audio group:\n%s", code, err, body)
				}
				for _, v := range mv.Variants {
					if v.Audio != "audio" || !strings.HasPrefix(v.Codecs[0], "hvc1") {
						t.Errorf("variant %s: AUDIO %q CODECS %v", v.URI, v.Audio, v.Codecs)
					}
				}
				videoURL, audioURL = httpURL(gw, "live/"+stream+"/v0.m3u8"), httpURL(gw, "live/"+stream+"/a0.m3u8")
			}
			if c := streamCodecs(t, videoURL); c["video"] != tc.probeName {
				t.Errorf("codecs %v, want %s", c, tc.probeName)
			}
			if tc.variant == "mpegts" {
				audioURL = ""
			} else if c := streamCodecs(t, audioURL); c["audio"] != "opus" {
				t.Errorf("codecs %v, want opus", c)
			}
			if msg := decodeErrors(t, index); msg != "" {
				t.Errorf("ffmpeg decoding the HLS output reported: %s", msg)
			}
			gotVideo, _ := probePackets(t, videoURL)
			// Nanosecond offsets carry the exact 30 fps DTS; composition
			// offsets are whole milliseconds (half a millisecond of PTS error).
			compareTimestamps(t, framePackets(served), gotVideo, 0.0007)
			if audioURL != "" { // Opus is not carried in MPEG-TS
				_, gotAudio := probePackets(t, audioURL)
				if want := len(tracks[len(tracks)-1].Frames); len(gotAudio) < want*9/10 {
					t.Errorf("%d audio packets, source has %d", len(gotAudio), want)
				}
			}
		})
	}
}

// TestE2EERTMPAlternateAudio: one video track and two audio tracks in
// ManyTracks messages are served as a variant with two renditions in its
// audio group; ffprobe decodes both.
func TestE2EERTMPAlternateAudio(t *testing.T) {
	t.Parallel()
	requireEncoder(t, "libx265")
	requireEncoder(t, "libopus")
	dir := t.TempDir()
	v, a0 := *hevcClip(t, dir, "320x240"), *opusClip(t, dir)
	a1 := a0
	v.ID, a0.ID, a1.ID = 0, 0, 1
	gw := sharedGateway(t, "fmp4")
	stream := uniqueStream("ertmp-audio")
	p, err := ertmp.Publish(gw.RTMPAddr().String(), "live", stream, rtmptest.Options{Timeout: 10 * time.Second}, &v, &a0, &a1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Send(ertmp.Messages(ertmp.LayoutManyTracks, ertmp.Options{NanoOffsets: true, CodedFramesX: true}, &v, &a0, &a1), 4); err != nil {
		t.Fatal(err)
	}
	if err := p.Unpublish(stream); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, gw, "live", stream)

	mv, body := waitMultivariant(t, gw, stream, time.Second)
	if len(mv.Variants) != 1 || len(mv.Renditions) != 2 || mv.Variants[0].Audio != "audio" ||
		*mv.Renditions[0].URI != "a0.m3u8" || *mv.Renditions[1].URI != "a1.m3u8" || !mv.Renditions[0].Default {
		t.Fatalf("want one variant and two audio renditions:\n%s", body)
	}
	if c := mv.Variants[0].Codecs; len(c) != 2 || !strings.HasPrefix(c[0], "hvc1") || c[1] != "opus" {
		t.Errorf("CODECS %v", c)
	}
	base := httpURL(gw, "live/"+stream+"/")
	got, _ := probePackets(t, base+"v0.m3u8")
	compareTimestamps(t, framePackets(&v), got, 0.0007)
	for _, name := range []string{"a0.m3u8", "a1.m3u8"} {
		if c := streamCodecs(t, base+name); c["audio"] != "opus" {
			t.Errorf("%s: codecs %v", name, c)
		}
		if _, pk := probePackets(t, base+name); len(pk) < len(a0.Frames)*9/10 {
			t.Errorf("%s: %d audio packets, source has %d", name, len(pk), len(a0.Frames))
		}
		if msg := decodeErrors(t, base+name); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
}
