package flv

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livegate/gateway/ingest/flv/flvfile"
	"github.com/livegate/gateway/remux"
)

// recordFLV encodes a 2 s x264 (B-frames) + AAC FLV with ffmpeg, or skips.
func recordFLV(t *testing.T) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not on PATH")
	}
	out := filepath.Join(t.TempDir(), "out.flv")
	cmd := exec.Command(ffmpeg, "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine",
		"-t", "2", "-c:v", "libx264", "-bf", "2", "-g", "30", "-c:a", "aac", "-f", "flv", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// recordedMessages returns the first n audio/video tags of a fresh
// recording as demuxer messages (nil without ffmpeg).
func recordedMessages(t *testing.T, n int) []fuzzMsg {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil
	}
	tags := readTags(t, recordFLV(t))
	var msgs []fuzzMsg
	for _, tag := range tags {
		if len(msgs) == n {
			break
		}
		switch tag.Type {
		case flvfile.TagVideo:
			msgs = append(msgs, fuzzMsg{0, tag.Timestamp, tag.Data})
		case flvfile.TagAudio:
			msgs = append(msgs, fuzzMsg{1, tag.Timestamp, tag.Data})
		}
	}
	return msgs
}

func readTags(t *testing.T, path string) []flvfile.Tag {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, tags, err := flvfile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !h.HasAudio || !h.HasVideo {
		t.Fatalf("header %+v", h)
	}
	return tags
}

type probePacket struct {
	PTS   int64  `json:"pts"`
	DTS   int64  `json:"dts"`
	Flags string `json:"flags"`
}

func ffprobe(t *testing.T, path, stream string) []probePacket {
	t.Helper()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe not on PATH")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(ffprobe, "-v", "error", "-show_packets", "-select_streams", stream, "-of", "json", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	var out struct {
		Packets []probePacket `json:"packets"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Packets
}

// TestRealFLV replays an ffmpeg recording through Demuxer → Remuxer → sink
// and checks every timestamp against ffprobe (FLV packets are in ms).
func TestRealFLV(t *testing.T) {
	path := recordFLV(t)
	tags := readTags(t, path)
	fx := newFixture(t)
	base := int64(-1)
	for _, tag := range tags {
		var err error
		switch tag.Type {
		case flvfile.TagScript:
			md, merr := flvfile.Metadata(tag.Data)
			if merr != nil {
				t.Fatal(merr)
			}
			err = fx.d.Metadata(md)
		case flvfile.TagVideo:
			err = fx.d.Video(tag.Timestamp, tag.Data)
		case flvfile.TagAudio:
			err = fx.d.Audio(tag.Timestamp, tag.Data)
		}
		if err != nil {
			t.Fatal(err)
		}
		if base < 0 && (tag.Type == flvfile.TagVideo || tag.Type == flvfile.TagAudio) {
			base = int64(tag.Timestamp)
		}
	}
	if err := fx.r.Close(); err != nil {
		t.Fatal(err)
	}

	if len(fx.sink.sets) != 1 || len(fx.sink.sets[0]) != 2 {
		t.Fatalf("SetTracks calls %v", fx.sink.sets)
	}
	v, a := fx.sink.sets[0][0], fx.sink.sets[0][1]
	if v.Codec != remux.CodecH264 || v.Width != 320 || v.Height != 240 || v.FrameRate != 30 || v.ClockRate != 90000 {
		t.Errorf("video track %+v", v)
	}
	if a.Codec != remux.CodecAAC || a.SampleRate != 44100 || a.ChannelCount != 1 || a.ClockRate != 44100 {
		t.Errorf("audio track %+v", a)
	}

	vp := ffprobe(t, path, "v")
	vs := fx.sink.byCodec(remux.CodecH264)
	if len(vs) != len(vp) {
		t.Fatalf("%d video samples, ffprobe has %d packets", len(vs), len(vp))
	}
	reordered := 0
	for i, p := range vp {
		wantDTS, wantPTS := (p.DTS-base)*90, (p.PTS-base)*90
		if vs[i].DTS != wantDTS || vs[i].PTS != wantPTS {
			t.Errorf("video %d: DTS %d PTS %d, ffprobe %d %d (90 kHz)", i, vs[i].DTS, vs[i].PTS, wantDTS, wantPTS)
		}
		if vs[i].Key != strings.Contains(p.Flags, "K") {
			t.Errorf("video %d: key %v, ffprobe flags %q", i, vs[i].Key, p.Flags)
		}
		if vs[i].PTS != vs[i].DTS {
			reordered++
		}
	}
	t.Logf("%d video samples match ffprobe (%d with PTS != DTS)", len(vs), reordered)
	if reordered == 0 {
		t.Error("no B-frame reordering seen: the test lost its point")
	}

	ap := ffprobe(t, path, "a")
	as := fx.sink.byCodec(remux.CodecAAC)
	if len(as) != len(ap) {
		t.Fatalf("%d audio samples, ffprobe has %d packets", len(as), len(ap))
	}
	for i, p := range ap {
		if as[i].DTS-as[0].DTS != int64(i*1024) {
			t.Fatalf("audio %d: DTS %d, not sample-accurate from %d", i, as[i].DTS, as[0].DTS)
		}
		// The millisecond FLV time stays within rounding of the exact time.
		if d := float64(as[i].DTS)*1000/44100 - float64(p.PTS-base); math.Abs(d) > 1 {
			t.Errorf("audio %d: %.2f ms away from the FLV timestamp", i, d)
		}
	}
	t.Logf("%d audio samples sample-accurate, within 1 ms of the FLV time", len(as))
	if st := fx.r.Stats(); st.DroppedBackwards != 0 || st.DroppedNoConfig != 0 || st.AudioResyncs != 0 {
		t.Errorf("remux stats %+v", st)
	}
	if fx.d.Dropped() != 0 {
		t.Errorf("demuxer dropped %d", fx.d.Dropped())
	}
}

// TestRealFLVTruncated replays every prefix-cut of the recording's first
// tags: no panic, no error with a healthy sink.
func TestRealFLVTruncated(t *testing.T) {
	tags := readTags(t, recordFLV(t))
	fx := newFixture(t)
	for i, tag := range tags[:min(len(tags), 12)] {
		for cut := 0; cut <= len(tag.Data); cut += 1 + len(tag.Data)/64 {
			body := tag.Data[:cut]
			var err error
			switch tag.Type {
			case flvfile.TagVideo:
				err = fx.d.Video(tag.Timestamp+uint32(cut), body)
			case flvfile.TagAudio:
				err = fx.d.Audio(tag.Timestamp+uint32(cut), body)
			}
			if err != nil {
				t.Fatalf("tag %d cut %d: %v", i, cut, err)
			}
		}
	}
}
