package hls

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// TestFFprobeLadder publishes two x264 renditions of one source (same GOP
// structure, B-frames) and the AAC track as a multitrack publication and
// has ffmpeg decode the ladder: the multivariant playlist with both
// variants and the audio group, and every rendition on its own.
func TestFFprobeLadder(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	dir := t.TempDir()
	type rend struct {
		size     string
		sps, pps []byte
		samples  []flvSample
		frames   int
	}
	rends := []*rend{{size: "640x360"}, {size: "320x180"}}
	var asc *mpeg4audio.AudioSpecificConfig
	for i, r := range rends {
		flv := filepath.Join(dir, r.size+".flv")
		gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size="+r.size+":rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "9",
			"-c:v", "libx264", "-bf", "2", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", flv)
		if out, err := gen.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		sps, pps, a, samples := readFLV(t, must(os.ReadFile(flv)))
		r.sps, r.pps, r.samples = sps, pps, samples
		if i == 0 {
			asc = a
		}
		for _, s := range samples {
			if s.video {
				r.frames++
			}
		}
	}

	for _, v := range []Variant{VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			m := newTestManager(t, ladderConfig(v))
			defer m.Close()
			p, err := m.Publish("live", "cam")
			if err != nil {
				t.Fatal(err)
			}
			var tracks []*remux.Track
			for i, r := range rends {
				tracks = append(tracks, &remux.Track{ID: i + 1, SourceID: i, Kind: remux.KindVideo, Codec: remux.CodecH264,
					ClockRate: 90000, SPS: r.sps, PPS: r.pps})
			}
			at := &remux.Track{ID: 3, Kind: remux.KindAudio, Codec: remux.CodecAAC, ClockRate: asc.SampleRate,
				SampleRate: asc.SampleRate, ChannelCount: int(asc.ChannelConfig), AAC: asc}
			if err := p.SetTracks(append(tracks, at)); err != nil {
				t.Fatal(err)
			}
			// Interleave the two files' tags by DTS, as one multitrack
			// publisher would (audio from the first file only).
			idx := make([]int, len(rends))
			for {
				best := -1
				for i, r := range rends {
					for idx[i] < len(r.samples) && i > 0 && !r.samples[idx[i]].video {
						idx[i]++
					}
					if idx[i] < len(r.samples) && (best < 0 || r.samples[idx[i]].dts < rends[best].samples[idx[best]].dts) {
						best = i
					}
				}
				if best < 0 {
					break
				}
				s := rends[best].samples[idx[best]]
				idx[best]++
				rs := &remux.Sample{Key: s.key}
				if s.video {
					rs.Track, rs.DTS, rs.PTS, rs.NALUs = tracks[best], s.dts*90, s.pts*90, s.nalus
				} else {
					rs.Track = at
					rs.DTS = s.dts * int64(asc.SampleRate) / 1000
					rs.PTS, rs.Payload = rs.DTS, s.payload
				}
				if err := p.WriteSample(rs); err != nil {
					t.Fatal(err)
				}
			}
			p.End(true)

			out := t.TempDir()
			index := mustGet(t, m, MultivariantName)
			if err := os.WriteFile(filepath.Join(out, MultivariantName), index.Body, 0o644); err != nil {
				t.Fatal(err)
			}
			var mv playlist.Multivariant
			if err := mv.Unmarshal(index.Body); err != nil {
				t.Fatal(err)
			}
			var lead *hlstest.MediaPlaylist
			for _, name := range []string{"v0.m3u8", "v1.m3u8", "a0.m3u8"} {
				pl := writeRendition(t, m, out, name)
				if lead == nil {
					lead = pl
				} else if pl.MediaSequence != lead.MediaSequence || len(pl.Segments) != len(lead.Segments) {
					t.Errorf("%s: MSN %d, %d segments; v0: %d, %d", name, pl.MediaSequence, len(pl.Segments),
						lead.MediaSequence, len(lead.Segments))
				}
			}
			for i, name := range []string{"v0.m3u8", "v1.m3u8"} {
				m3u8 := filepath.Join(out, name)
				probe := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
					"packet=pts", "-of", "csv=p=0", m3u8)
				var stderr bytes.Buffer
				probe.Stderr = &stderr
				b, err := probe.Output()
				if err != nil || stderr.Len() > 0 {
					t.Fatalf("ffprobe %s: %v\n%s", name, err, stderr.Bytes())
				}
				if n := len(strings.Fields(string(b))); n != rends[i].frames {
					t.Errorf("%s: %d video packets, source has %d", name, n, rends[i].frames)
				}
			}
			// The whole ladder: both variants and the audio group decode.
			dec := exec.Command("ffmpeg", "-v", "error", "-i", filepath.Join(out, MultivariantName), "-map", "0", "-f", "null", "-")
			if b, err := dec.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
				t.Errorf("ffmpeg decode of the ladder: %v\n%s", err, b)
			}
			probe := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height",
				"-of", "csv=p=0", filepath.Join(out, MultivariantName))
			b, err := probe.Output()
			if err != nil {
				t.Fatalf("ffprobe ladder: %v", err)
			}
			got := string(b)
			if !strings.Contains(got, "video,640,360") || !strings.Contains(got, "video,320,180") || !strings.Contains(got, "audio") {
				t.Errorf("ladder streams:\n%s", got)
			}
		})
	}
}

// writeRendition writes a ladder rendition's media playlist and every
// object it names to dir.
func writeRendition(t *testing.T, m *Manager, dir, name string) *hlstest.MediaPlaylist {
	t.Helper()
	write := func(name string) *Object {
		o, err := m.Get(context.Background(), "live", "cam", name, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), o.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		return o
	}
	pl := parsePlaylist(t, write(name))
	if err := hlstest.CheckMediaPlaylist(nil, pl, hlstest.Rules{FMP4: true}); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	maps := map[string]bool{}
	for _, s := range pl.Segments {
		write(s.URI)
		if s.Map != "" && !maps[s.Map] {
			maps[s.Map] = true
			write(s.Map)
		}
	}
	return pl
}
