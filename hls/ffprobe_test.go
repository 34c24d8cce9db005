package hls

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// flvSample is one media tag of an FLV file, turned into what remux would hand over.
type flvSample struct {
	video    bool
	key      bool
	dts, pts int64 // ms
	nalus    [][]byte
	payload  []byte
}

// readFLV is a minimal FLV reader for tests (FLV spec v10.1 E.4): AVC and
// AAC tags only.
func readFLV(t *testing.T, b []byte) (sps, pps []byte, asc *mpeg4audio.AudioSpecificConfig, out []flvSample) {
	t.Helper()
	if len(b) < 13 || string(b[:3]) != "FLV" {
		t.Fatal("not an FLV file")
	}
	b = b[binary.BigEndian.Uint32(b[5:9])+4:]
	for len(b) >= 11 {
		typ := b[0] & 0x1f
		size := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		ts := int64(b[4])<<16 | int64(b[5])<<8 | int64(b[6]) | int64(b[7])<<24
		data := b[11 : 11+size]
		b = b[11+size+4:]
		switch {
		case typ == 9 && len(data) > 5 && data[0]&0x0f == 7:
			// E.4.3.1: CompositionTime is a signed 24-bit millisecond offset.
			cts := int64(int32(uint32(data[2])<<16|uint32(data[3])<<8|uint32(data[4])) << 8 >> 8)
			body := data[5:]
			if data[1] == 0 { // AVCDecoderConfigurationRecord
				n := int(body[5] & 0x1f)
				p := 6
				for i := 0; i < n; i++ {
					l := int(binary.BigEndian.Uint16(body[p:]))
					sps = bytes.Clone(body[p+2 : p+2+l])
					p += 2 + l
				}
				n = int(body[p])
				p++
				for i := 0; i < n; i++ {
					l := int(binary.BigEndian.Uint16(body[p:]))
					pps = bytes.Clone(body[p+2 : p+2+l])
					p += 2 + l
				}
				continue
			}
			var nalus [][]byte
			for len(body) >= 4 {
				l := int(binary.BigEndian.Uint32(body))
				nalu := body[4 : 4+l]
				body = body[4+l:]
				switch nalu[0] & 0x1f {
				case 7, 8, 9: // parameter sets and AUDs travel out of band
				default:
					nalus = append(nalus, nalu)
				}
			}
			out = append(out, flvSample{video: true, key: data[0]>>4 == 1, dts: ts, pts: ts + cts, nalus: nalus})
		case typ == 8 && len(data) > 2 && data[0]>>4 == 10:
			if data[1] == 0 {
				asc = &mpeg4audio.AudioSpecificConfig{}
				if err := asc.Unmarshal(data[2:]); err != nil {
					t.Fatal(err)
				}
				continue
			}
			out = append(out, flvSample{dts: ts, pts: ts, key: true, payload: data[2:]})
		}
	}
	return sps, pps, asc, out
}

// TestFFprobeDecodes feeds a real x264 (B-frames) + AAC FLV through every
// variant and checks with ffprobe/ffmpeg that the output decodes without
// errors and that the video PTS/DTS are the input's, shifted by a constant.
func TestFFprobeDecodes(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	dir := t.TempDir()
	flv := filepath.Join(dir, "in.flv")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "7",
		"-c:v", "libx264", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", flv)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(flv)
	if err != nil {
		t.Fatal(err)
	}
	sps, pps, asc, samples := readFLV(t, raw)
	if sps == nil || asc == nil {
		t.Fatal("no AVC or AAC configuration in the FLV")
	}
	var inPTS, inDTS []int64
	for _, s := range samples {
		if s.video {
			inPTS, inDTS = append(inPTS, s.pts*90), append(inDTS, s.dts*90)
		}
	}

	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			m := newTestManager(t, testConfig(v))
			defer m.Close()
			p, err := m.Publish("live", "cam")
			if err != nil {
				t.Fatal(err)
			}
			vt := &remux.Track{ID: 1, Kind: remux.KindVideo, Codec: remux.CodecH264, ClockRate: 90000, SPS: sps, PPS: pps}
			at := &remux.Track{ID: 2, Kind: remux.KindAudio, Codec: remux.CodecAAC, ClockRate: asc.SampleRate,
				SampleRate: asc.SampleRate, ChannelCount: int(asc.ChannelConfig), AAC: asc}
			if err := p.SetTracks([]*remux.Track{vt, at}); err != nil {
				t.Fatal(err)
			}
			for _, s := range samples {
				rs := &remux.Sample{Key: s.key}
				if s.video {
					rs.Track, rs.DTS, rs.PTS, rs.NALUs = vt, s.dts*90, s.pts*90, s.nalus
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
			pl := writeStream(t, m, out)
			if len(pl.Segments) < 3 {
				t.Fatalf("%d segments", len(pl.Segments))
			}
			m3u8 := filepath.Join(out, MediaPlaylistName)
			dec := exec.Command("ffmpeg", "-v", "error", "-i", m3u8, "-f", "null", "-")
			if b, err := dec.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
				t.Errorf("ffmpeg decode: %v\n%s", err, b)
			}
			probe := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
				"packet=pts,dts", "-of", "csv=p=0", m3u8)
			var stderr bytes.Buffer
			probe.Stderr = &stderr
			b, err := probe.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("ffprobe: %v\n%s", err, stderr.Bytes())
			}
			lines := strings.Fields(string(b))
			if len(lines) != len(inPTS) {
				t.Fatalf("%d video packets out, %d in", len(lines), len(inPTS))
			}
			var shift int64
			for i, l := range lines {
				f := strings.Split(l, ",")
				pts, _ := strconv.ParseInt(f[0], 10, 64)
				dts, _ := strconv.ParseInt(f[1], 10, 64)
				if i == 0 {
					shift = dts - inDTS[0]
				}
				if pts-inPTS[i] != shift || dts-inDTS[i] != shift {
					t.Fatalf("packet %d: pts/dts %d/%d, input %d/%d (shift %d)", i, pts, dts, inPTS[i], inDTS[i], shift)
				}
			}
		})
	}
}

// writeStream writes the playlists and every object they name to dir.
func writeStream(t *testing.T, m *Manager, dir string) *hlstest.MediaPlaylist {
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
	write(MultivariantName)
	pl := parsePlaylist(t, write(MediaPlaylistName))
	if err := hlstest.CheckMediaPlaylist(nil, pl, hlstest.Rules{}); err != nil {
		t.Error(err)
	}
	maps := map[string]bool{}
	for _, s := range pl.Segments {
		write(s.URI)
		if s.Map != "" && !maps[s.Map] {
			maps[s.Map] = true
			write(s.Map)
		}
		for _, p := range s.Parts {
			write(p.URI)
		}
	}
	if testing.Verbose() {
		fmt.Printf("%s\n", must(os.ReadFile(filepath.Join(dir, MediaPlaylistName))))
	}
	return pl
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
