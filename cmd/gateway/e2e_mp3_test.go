package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ffmpeg publishes H.264 with MP3 the legacy FLV way (SoundFormat 2, no
// sequence header): the gateway configures the track from the first frame
// header, and the fMP4 and MPEG-TS outputs carry MP3 that decodes at the
// source's rate with the source's audio timestamps.

// mp3Clip returns an FLV file encoded once per process: 6 s of 320x240
// testsrc2 at 25 fps in H.264 (1 s GOP) and a stereo 440 Hz sine in MP3 at
// sampleRate (22050 Hz gives MPEG-2 "LSF" frames).
func mp3Clip(t *testing.T, sampleRate int) string {
	t.Helper()
	requireEncoder(t, "libmp3lame")
	bitrate := "128k"
	if sampleRate < 32000 {
		bitrate = "64k"
	}
	return cachedClip(t, fmt.Sprintf("mp3-%d.flv", sampleRate), func(out string) []string {
		return []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + strconv.Itoa(sampleRate),
			"-t", "6",
			"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p",
			"-c:a", "libmp3lame", "-ac", "2", "-b:a", bitrate,
			"-f", "flv", out}
	})
}

// audioStream returns the codec name, sample rate and channel count of
// input's first audio stream.
func audioStream(t *testing.T, input string) (codec string, rate, channels int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=codec_name,sample_rate,channels", "-of", "json", input).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	var doc struct {
		Streams []struct {
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Streams) == 0 {
		t.Fatalf("ffprobe %s: %v, %s", input, err, out)
	}
	s := doc.Streams[0]
	rate, _ = strconv.Atoi(s.SampleRate)
	return s.CodecName, rate, s.Channels
}

// compareAudio checks that the HLS output's audio packets are the source's
// from some point on (audio before the first segment's key frame is not
// served), at the source's times relative to the first video packet,
// within tol seconds, and that none is missing after that point.
func compareAudio(t *testing.T, wantV, wantA, gotV, gotA []packet, tol float64) {
	t.Helper()
	if len(wantV) == 0 || len(gotV) == 0 || len(wantA) == 0 || len(gotA) == 0 {
		t.Fatalf("source %d/%d, HLS %d/%d video/audio packets", len(wantV), len(wantA), len(gotV), len(gotA))
	}
	w0, g0 := wantV[0].DTS, gotV[0].DTS
	first := gotA[0].PTS - g0
	k := 0
	for k < len(wantA) && wantA[k].PTS-w0 < first-tol {
		k++
	}
	if len(gotA) != len(wantA)-k {
		t.Errorf("%d audio packets from %.3fs, the source has %d from there (%d in all)", len(gotA), first, len(wantA)-k, len(wantA))
	}
	if k > 2 {
		t.Errorf("the first %d source audio packets are missing", k)
	}
	t.Logf("%d audio packets from %.3fs (source: %d, the first %d not served)", len(gotA), first, len(wantA), k)
	bad := 0
	for i := range min(len(gotA), len(wantA)-k) {
		w, g := wantA[k+i].PTS-w0, gotA[i].PTS-g0
		if abs(w-g) > tol {
			if bad < 5 {
				t.Errorf("audio packet %d: source pts %.4f, HLS pts %.4f", i, w, g)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d audio packets differ", bad, len(gotA))
	}
}

func TestE2EMP3(t *testing.T) {
	t.Parallel()
	requireTool(t, "ffprobe")
	for _, tc := range []struct {
		variant string
		rate    int
	}{
		{"fmp4", 44100},
		{"mpegts", 44100},
		{"mpegts", 22050}, // MPEG-2 LSF frames, 576 samples each
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.variant, tc.rate), func(t *testing.T) {
			t.Parallel()
			src := mp3Clip(t, tc.rate)
			wantV, wantA := probePackets(t, src)
			gw := sharedGateway(t, tc.variant)
			stream := uniqueStream("mp3")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			cmd := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream))
			if err := cmd.Wait(); err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			info := waitEnded(t, gw, "live", stream)
			if !info.has("video", "H264", 320, 240) || !info.hasAudio("MP3", tc.rate, 2) {
				t.Errorf("tracks %+v, want H264 320x240 and MP3 %d Hz stereo", info.Tracks, tc.rate)
			}

			index := httpURL(gw, "live/"+stream+"/index.m3u8")
			if code, _, body := httpGet(t, index); code != 200 || !strings.Contains(string(body), `mp4a.40.34"`) {
				t.Errorf("multivariant playlist (status %d) without the MP3 CODECS entry:\n%s", code, body)
			}
			if msg := decodeErrors(t, index); msg != "" {
				t.Errorf("ffmpeg decoding the HLS output reported: %s", msg)
			}
			if codec, rate, ch := audioStream(t, index); codec != "mp3" || rate != tc.rate || ch != 2 {
				t.Errorf("audio stream %s %d Hz %d channels, want mp3 %d Hz stereo", codec, rate, ch, tc.rate)
			}
			gotV, gotA := probePackets(t, index)
			compareTimestamps(t, wantV, gotV, 0.0015)
			// The FLV timestamps are whole milliseconds; the output counts samples.
			compareAudio(t, wantV, wantA, gotV, gotA, 0.0015)
		})
	}
}

// mp3PlayerSample is a player sample with the audio Chromium decoded.
type mp3PlayerSample struct {
	playerSample
	AudioBytes int    `json:"audioBytes"`
	VideoBytes int    `json:"videoBytes"`
	Buffers    string `json:"buffers"`
}

// mp3SampleExpr adds Chromium's decoded byte counters and the codecs hls.js
// buffered to sampleExpr.
const mp3SampleExpr = `Object.assign(` + sampleExpr + `, (() => {
  const v = document.querySelector('video') || {};
  const h = (window.__player || {}).hls;
  const tracks = h && h.bufferController && h.bufferController.tracks || {};
  return {
    audioBytes: v.webkitAudioDecodedByteCount || 0,
    videoBytes: v.webkitVideoDecodedByteCount || 0,
    buffers: Object.keys(tracks).map((k) => k + ':' + (tracks[k].container || '') + ';' + (tracks[k].codec || '')).join(' '),
  };
})())`

// hls.js in Chromium plays H.264 + MP3 from the MPEG-TS variant: it
// demuxes the MP3 into an audio/mpeg SourceBuffer and Chromium decodes the
// audio. (From the fMP4 variant it cannot: Chromium's MSE accepts MP3 only
// as audio/mpeg, not in MP4 under any codecs string, and hls.js stops with
// bufferAddCodecError.)
func TestE2EMP3Browser(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	requireEncoder(t, "libmp3lame")
	gw := sharedGateway(t, "mpegts")
	stream := uniqueStream("mp3-browser")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "14",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "libmp3lame", "-b:a", "128k",
		"-f", "flv", rtmpURL(gw, "live", stream))
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()

	cmd := exec.CommandContext(ctx, "node", "--experimental-websocket", "--no-warnings",
		filepath.Join("..", "..", "httpserver", "testdata", "cdp.mjs"),
		"--url", httpURL(gw, "live/"+stream+"/"), "--every", "500", "--timeout", "10000",
		"--eval", mp3SampleExpr, "--chromium", "chromium")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("player: %v: %s", err, stderr.String())
	}
	var samples []mp3PlayerSample
	if err := json.Unmarshal(out, &samples); err != nil || len(samples) == 0 {
		t.Fatalf("player samples: %v\n%s", err, out)
	}
	r := &playerReport{}
	for _, s := range samples {
		r.Samples = append(r.Samples, s.playerSample)
	}
	checkPlayed(t, r, 3)
	last := samples[len(samples)-1]
	if last.AudioBytes == 0 || !strings.Contains(last.Buffers, "audio/mpeg") {
		t.Errorf("Chromium decoded %d bytes of audio (buffers %q, errors %v)", last.AudioBytes, last.Buffers, last.Errors)
	}
	t.Logf("played %.2fs; decoded %d bytes of audio, %d of video; buffers %s",
		last.CurrentTime, last.AudioBytes, last.VideoBytes, last.Buffers)
}
