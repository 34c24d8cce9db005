package hls

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/livegate/gateway/remux"
)

// extFrame is one elementary stream frame read back from an encoder's output.
type extFrame struct {
	pts     int64 // track clock
	key     bool
	payload []byte
}

// readIVF splits an IVF file (libvpx's container: a 32-byte file header,
// then per frame a 4-byte little-endian size and an 8-byte timestamp in the
// header's time base) into frames, timestamps converted to 90 kHz.
func readIVF(t *testing.T, b []byte) (w, h int, frames []extFrame) {
	t.Helper()
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		t.Fatal("not an IVF file")
	}
	w, h = int(binary.LittleEndian.Uint16(b[12:])), int(binary.LittleEndian.Uint16(b[14:]))
	den, num := int64(binary.LittleEndian.Uint32(b[16:])), int64(binary.LittleEndian.Uint32(b[20:]))
	hdr := int(binary.LittleEndian.Uint16(b[6:]))
	b = b[hdr:]
	for len(b) >= 12 {
		size := int(binary.LittleEndian.Uint32(b))
		ts := int64(binary.LittleEndian.Uint64(b[4:]))
		if 12+size > len(b) {
			t.Fatal("truncated IVF frame")
		}
		frames = append(frames, extFrame{pts: ts * num * remux.VideoClockRate / den, payload: b[12 : 12+size]})
		b = b[12+size:]
	}
	return w, h, frames
}

// av1OBUs splits a temporal unit of size-delimited OBUs (AV1 §5.3), calling
// fn with each OBU's type and whole bytes.
func av1OBUs(t *testing.T, tu []byte, fn func(typ byte, obu []byte)) {
	t.Helper()
	for len(tu) > 0 {
		h := tu[0]
		p := 1
		if h&0x04 != 0 {
			p++
		}
		if h&0x02 == 0 {
			t.Fatal("OBU without size field")
		}
		var size, shift uint64
		for {
			c := tu[p]
			p++
			size |= uint64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		end := p + int(size)
		fn((h>>3)&0x0f, tu[:end])
		tu = tu[end:]
	}
}

// readOgg returns the packets of the first logical stream of an Ogg file
// (RFC 3533 §6: pages of lacing values; a value below 255 ends a packet).
func readOgg(t *testing.T, b []byte) (packets [][]byte) {
	t.Helper()
	var cur []byte
	for len(b) >= 27 {
		if string(b[:4]) != "OggS" {
			t.Fatal("lost Ogg page sync")
		}
		n := int(b[26])
		lacing := b[27 : 27+n]
		data := b[27+n:]
		for _, l := range lacing {
			cur = append(cur, data[:l]...)
			data = data[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = data
	}
	return packets
}

// opusSamples is the duration of an Opus packet in 48 kHz samples (RFC 6716
// §3.1: the TOC byte's configuration and frame count code).
func opusSamples(p []byte) int64 {
	cfg := p[0] >> 3
	var frame int64
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []int64{480, 960, 1920, 2880}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = []int64{480, 960}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []int64{120, 240, 480, 960}[cfg%4]
	}
	switch p[0] & 3 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	}
	return int64(p[1]&0x3f) * frame
}

// readSyncFrames splits an elementary stream of self-delimiting syncframes.
func readSyncFrames(t *testing.T, b []byte, parse func([]byte) (size, samples int, err error)) (frames []extFrame) {
	t.Helper()
	var pts int64
	for len(b) > 0 {
		size, samples, err := parse(b)
		if err != nil || size <= 0 || size > len(b) {
			t.Fatalf("frame at pts %d: size %d: %v", pts, size, err)
		}
		frames = append(frames, extFrame{pts: pts, key: true, payload: b[:size]})
		pts += int64(samples)
		b = b[size:]
	}
	return frames
}

// extEncode describes one real-encoder clip.
type extEncode struct {
	name    string
	encoder string   // ffmpeg encoder that must exist
	args    []string // ffmpeg output arguments
	file    string
	codec   string // ffprobe codec_name
	layout  string // ffprobe "channels,channel_layout" when checked
	build   func(t *testing.T, b []byte) (*remux.Track, []extFrame)
}

// buildOpus reads an Ogg Opus file (RFC 7845 §3: OpusHead, OpusTags, then
// audio packets).
func buildOpus(t *testing.T, b []byte) (*remux.Track, []extFrame) {
	pk := readOgg(t, b)
	tr := must(remux.NewOpusTrack(must(remux.ParseOpusHead(pk[0]))))
	var frames []extFrame
	var pts int64
	for _, p := range pk[2:] {
		frames = append(frames, extFrame{pts: pts, key: true, payload: p})
		pts += opusSamples(p)
	}
	return tr, frames
}

func extEncodes() []extEncode {
	video := []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "5", "-pix_fmt", "yuv420p", "-g", "30"}
	audio := []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "5", "-ac", "2"}
	cat := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	return []extEncode{
		{name: "AV1", encoder: "libaom-av1", file: "v.ivf", codec: "av1",
			args: cat(video, []string{"-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "300k", "-lag-in-frames", "0", "-f", "ivf"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				_, _, frames := readIVF(t, b)
				var tr *remux.Track
				for i := range frames {
					f := &frames[i]
					var out []byte
					av1OBUs(t, f.payload, func(typ byte, obu []byte) {
						switch typ {
						case 2: // temporal delimiter: remux removes it
							return
						case 1: // sequence header: libaom repeats it on key frames
							f.key = true
							if tr == nil {
								tr = must(remux.NewAV1Track(obu))
							}
						}
						out = append(out, obu...)
					})
					f.payload = out
				}
				return tr, frames
			}},
		{name: "VP9", encoder: "libvpx-vp9", file: "v.ivf", codec: "vp9",
			args: cat(video, []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-f", "ivf"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				w, h, frames := readIVF(t, b)
				for i := range frames {
					// VP9 §6.2 uncompressed header, profile 0: frame_marker(2)
					// profile(2) show_existing_frame(1) frame_type(1, 0 = key).
					frames[i].key = frames[i].payload[0]&0x0c == 0
				}
				tr := must(remux.NewVP9Track(remux.VP9Config{BitDepth: 8, ChromaSubsampling: 1,
					ColourPrimaries: 2, TransferCharacteristics: 2, MatrixCoefficients: 2}, w, h))
				return tr, frames
			}},
		{name: "Opus", encoder: "libopus", file: "a.ogg", codec: "opus", layout: "2,stereo",
			args: cat(audio, []string{"-c:a", "libopus", "-b:a", "64k", "-f", "ogg"}), build: buildOpus},
		// RFC 7845 §5.1.1.2 channel mapping family 1: 4 streams, 2 coupled.
		{name: "Opus 5.1", encoder: "libopus", file: "a.ogg", codec: "opus", layout: "6,5.1",
			args:  cat(audio, []string{"-ac", "6", "-c:a", "libopus", "-mapping_family", "1", "-b:a", "256k", "-f", "ogg"}),
			build: buildOpus},
		{name: "FLAC", encoder: "flac", file: "a.ogg", codec: "flac",
			args: cat(audio, []string{"-c:a", "flac", "-f", "ogg"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				pk := readOgg(t, b)
				// Ogg FLAC mapping: 0x7F "FLAC" version(2) header count(2),
				// then "fLaC" and the STREAMINFO block.
				tr := must(remux.NewFLACTrack(pk[0][9:]))
				var frames []extFrame
				var pts int64
				for _, p := range pk[1:] {
					if len(p) < 2 || p[0] != 0xff || p[1]&0xfe != 0xf8 {
						continue // metadata blocks
					}
					frames = append(frames, extFrame{pts: pts, key: true, payload: p})
					pts += int64(tr.FLAC.MaxBlockSize) // fixed block size
				}
				return tr, frames
			}},
		{name: "AC-3", encoder: "ac3", file: "a.ac3", codec: "ac3",
			args: cat(audio, []string{"-c:a", "ac3", "-b:a", "192k", "-f", "ac3"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				c, _, err := remux.ParseAC3Frame(b)
				if err != nil {
					t.Fatal(err)
				}
				return must(remux.NewAC3Track(c)), readSyncFrames(t, b, func(f []byte) (int, int, error) {
					_, n, err := remux.ParseAC3Frame(f)
					return n, 1536, err
				})
			}},
		{name: "E-AC-3", encoder: "eac3", file: "a.eac3", codec: "eac3",
			args: cat(audio, []string{"-c:a", "eac3", "-b:a", "192k", "-f", "eac3"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				c, _, err := remux.ParseEAC3Frame(b)
				if err != nil {
					t.Fatal(err)
				}
				return must(remux.NewEAC3Track(c)), readSyncFrames(t, b, func(f []byte) (int, int, error) {
					c, n, err := remux.ParseEAC3Frame(f)
					return n, c.Blocks * 256, err
				})
			}},
		{name: "MP3", encoder: "libmp3lame", file: "a.mp3", codec: "mp3",
			args: cat(audio, []string{"-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3"}),
			build: func(t *testing.T, b []byte) (*remux.Track, []extFrame) {
				c, _, _, err := remux.ParseMPEGAudioFrame(b)
				if err != nil {
					t.Fatal(err)
				}
				return must(remux.NewMPEGAudioTrack(c)), readSyncFrames(t, b, func(f []byte) (int, int, error) {
					_, n, s, err := remux.ParseMPEGAudioFrame(f)
					return n, s, err
				})
			}},
	}
}

// TestFFprobeExtCodecs encodes a short clip of each Enhanced RTMP codec
// with ffmpeg, feeds its frames through the fMP4 and LL-HLS variants and
// checks that ffmpeg decodes the output without errors, with the right
// codec, every frame, and the input's timestamps shifted by a constant.
func TestFFprobeExtCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	encoders, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	for _, e := range extEncodes() {
		t.Run(e.name, func(t *testing.T) {
			if !bytes.Contains(encoders, []byte(" "+e.encoder+" ")) {
				t.Skipf("ffmpeg has no %s encoder", e.encoder)
			}
			t.Parallel()
			src := filepath.Join(t.TempDir(), e.file)
			gen := exec.Command("ffmpeg", append(append([]string{"-v", "error"}, e.args...), src)...)
			if out, err := gen.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			tr, frames := e.build(t, must(os.ReadFile(src)))
			if tr == nil || len(frames) < 10 || !frames[0].key {
				t.Fatalf("track %v, %d frames", tr, len(frames))
			}
			tr.ID = 1
			keys := 0
			for _, f := range frames {
				if f.key {
					keys++
				}
			}
			t.Logf("%d frames, %d key frames", len(frames), keys)
			for _, v := range []Variant{VariantFMP4, VariantLowLatency} {
				t.Run(string(v), func(t *testing.T) {
					m := newTestManager(t, testConfig(v))
					defer m.Close()
					p := must(m.Publish("live", "cam"))
					if err := p.SetTracks([]*remux.Track{tr}); err != nil {
						t.Fatal(err)
					}
					for _, f := range frames {
						s := &remux.Sample{Track: tr, DTS: f.pts, PTS: f.pts, Key: f.key, Payload: f.payload}
						if err := p.WriteSample(s); err != nil {
							t.Fatal(err)
						}
					}
					p.End(true)
					out := t.TempDir()
					pl := writeStream(t, m, out)
					requireServedInitPatched(t, out, pl.Segments[0].Map, tr)
					if !pl.IndependentSegments {
						t.Error("no INDEPENDENT-SEGMENTS")
					}
					for _, seg := range pl.Segments {
						if key, ok := firstSampleKey(must(os.ReadFile(filepath.Join(out, seg.URI))), 1); !ok || !key {
							t.Errorf("segment %s does not start on a key frame", seg.URI)
						}
					}
					checkDecodes(t, filepath.Join(out, MediaPlaylistName), e.codec, frames)
					if e.layout != "" {
						checkLayout(t, filepath.Join(out, MediaPlaylistName), e.layout)
					}
				})
			}
		})
	}
}

// checkDecodes runs ffmpeg and ffprobe on a local playlist.
func checkDecodes(t *testing.T, m3u8, codec string, frames []extFrame) {
	t.Helper()
	dec := exec.Command("ffmpeg", "-v", "error", "-i", m3u8, "-f", "null", "-")
	if b, err := dec.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
		t.Errorf("ffmpeg decode: %v\n%s", err, b)
	}
	probe := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:packet=pts",
		"-of", "csv=p=0", m3u8)
	var stderr bytes.Buffer
	probe.Stderr = &stderr
	b, err := probe.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.Bytes())
	}
	var pts []int64
	gotCodec := ""
	for _, l := range strings.Fields(string(b)) {
		l = strings.TrimSuffix(l, ",")
		if n, err := strconv.ParseInt(l, 10, 64); err == nil {
			pts = append(pts, n)
		} else {
			gotCodec = l
		}
	}
	t.Logf("%s: %d packets, pts %d..%d", gotCodec, len(pts), pts[0], pts[len(pts)-1])
	if gotCodec != codec {
		t.Errorf("codec %q, want %q", gotCodec, codec)
	}
	if len(pts) != len(frames) {
		t.Fatalf("%d packets out, %d in", len(pts), len(frames))
	}
	for i := range pts {
		if pts[i]-pts[0] != frames[i].pts-frames[0].pts {
			t.Fatalf("packet %d: pts %d, want %d (+%d)", i, pts[i], frames[i].pts, pts[0]-frames[0].pts)
		}
	}
}

// checkLayout checks ffprobe's "channels,channel_layout" of every audio
// stream of a local playlist.
func checkLayout(t *testing.T, m3u8, want string) {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a",
		"-show_entries", "stream=channels,channel_layout", "-of", "csv=p=0", m3u8).CombinedOutput()
	// One line per stream, repeated for the HLS program.
	lines := strings.Fields(string(b))
	if err != nil || len(lines) == 0 {
		t.Fatalf("ffprobe: %v\n%s", err, b)
	}
	for _, l := range lines {
		if l != want {
			t.Errorf("ffprobe channels,channel_layout: %q, want %s", b, want)
			return
		}
	}
}
