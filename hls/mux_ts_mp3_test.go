package hls

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/livegate/gateway/remux"
)

// TestMP3InTS feeds H.264 and MP3 (MPEG-1 and MPEG-2 "LSF" rates) through
// the MPEG-TS variant and reads the segments back: the audio is an MPEG
// audio elementary stream carrying every frame served, unchanged, at
// sample-exact PTS.
func TestMP3InTS(t *testing.T) {
	for _, c := range []struct {
		name string
		hdr  []byte
	}{
		{"MPEG-1 44.1 kHz", []byte{0xff, 0xfb, 0x90, 0x44}},
		{"MPEG-2 24 kHz", []byte{0xff, 0xf3, 0x84, 0x44}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, size, samples, err := remux.ParseMPEGAudioFrame(c.hdr)
			if err != nil {
				t.Fatal(err)
			}
			a, err := remux.NewMPEGAudioTrack(cfg)
			if err != nil {
				t.Fatal(err)
			}
			a.ID = 2
			v := videoTrack(1, 0)
			m := newTestManager(t, testConfig(VariantMPEGTS))
			defer m.Close()
			p, err := m.Publish("live", "cam")
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetTracks([]*remux.Track{v, a}); err != nil {
				t.Fatal(err)
			}
			// 4 s: 30 fps video with a key frame every second, and MP3
			// frames numbered in their fifth byte.
			var frames [][]byte
			var vi, ai int64
			for vi < 120 {
				s := &remux.Sample{}
				if vi*int64(a.ClockRate) <= ai*int64(samples)*30 {
					nalu := []byte{0x41, byte(vi)}
					if vi%30 == 0 {
						nalu[0] = 0x65
					}
					s.Track, s.DTS, s.PTS, s.Key, s.NALUs = v, vi*3000, vi*3000, vi%30 == 0, [][]byte{nalu}
					vi++
				} else {
					f := make([]byte, size)
					copy(f, c.hdr)
					f[4] = byte(ai)
					frames = append(frames, f)
					s.Track, s.DTS, s.PTS, s.Key, s.Payload = a, ai*int64(samples), ai*int64(samples), true, f
					ai++
				}
				if err := p.WriteSample(s); err != nil {
					t.Fatal(err)
				}
			}
			p.End(true)

			if mv := string(mustGet(t, m, MultivariantName).Body); !strings.Contains(mv, `CODECS="avc1.42c028,mp4a.40.34"`) {
				t.Errorf("CODECS:\n%s", mv)
			}
			var ts []byte
			for _, s := range parsePlaylist(t, mustGet(t, m, MediaPlaylistName)).Segments {
				ts = append(ts, mustGet(t, m, s.URI).Body...)
			}
			got, pts := readTSMPEGAudio(t, ts)
			if len(got) < len(frames)*9/10 {
				t.Fatalf("%d frames read back, %d written", len(got), len(frames))
			}
			first := int(got[0][4])
			for i, f := range got {
				if !bytes.Equal(f, frames[first+i]) {
					t.Fatalf("frame %d differs from frame %d written", i, first+i)
				}
			}
			// One PES per batch of frames: each PES's PTS is its first frame's.
			for i := 1; i < len(pts); i++ {
				d := (pts[i].pts - pts[0].pts) * int64(a.ClockRate)
				if want := int64(pts[i].frame-pts[0].frame) * int64(samples) * 90000; abs64(d-want) > 90000 {
					t.Errorf("PES %d: PTS %d, want %d (90 kHz)", i, pts[i].pts-pts[0].pts, want/int64(a.ClockRate))
				}
			}
		})
	}
}

type pesPTS struct {
	pts   int64
	frame int // index of its first frame in the frames read
}

// readTSMPEGAudio demuxes ts and returns the MPEG audio frames and the PTS
// of each PES, checking that the audio is declared as MPEG audio.
func readTSMPEGAudio(t *testing.T, ts []byte) ([][]byte, []pesPTS) {
	t.Helper()
	r := &mpegts.Reader{R: bytes.NewReader(ts)}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	var pts []pesPTS
	found := false
	for _, tr := range r.Tracks() {
		if _, ok := tr.Codec.(*tscodecs.MPEG1Audio); ok {
			found = true
			// mediacommon's OnDataMPEG1Audio sizes MPEG-2 Layer III frames
			// as MPEG-1 ones (144 × bitrate / rate, not 72 ×): take the raw
			// PES payload through the untyped MPEG-1 video hook and split it
			// here.
			r.OnDataMPEG1Video(tr, func(p int64, data []byte) error {
				pts = append(pts, pesPTS{p, len(frames)})
				for len(data) > 0 {
					_, n, _, err := remux.ParseMPEGAudioFrame(data)
					if err != nil || n > len(data) {
						t.Errorf("PES at %d: frame %d: %v (%d of %d bytes left)", p, len(frames), err, len(data), n)
						return nil
					}
					frames = append(frames, data[:n])
					data = data[n:]
				}
				return nil
			})
		}
	}
	if !found {
		t.Fatalf("no MPEG audio track in the PMT: %v", r.Tracks())
	}
	r.OnDecodeError(func(err error) { t.Errorf("decode: %v", err) })
	for {
		if err := r.Read(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if len(frames) == 0 {
		t.Fatal("no MPEG audio frames")
	}
	return frames, pts
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
