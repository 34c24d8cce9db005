package hls

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livegate/gateway/remux"
)

// hdrColorInfo is a BT.2020 / PQ colorInfo with the mastering display of
// a P3-D65 1000 cd/m² grading monitor and HDR10 light levels.
func hdrColorInfo() *remux.ColorInfo {
	return &remux.ColorInfo{
		BitDepth: 10, ColorPrimaries: 9, TransferCharacteristics: 16, MatrixCoefficients: 9,
		MaxCLL: 1000, MaxFALL: 400,
		Mastering: &remux.MasteringDisplay{
			RedX: 0.68, RedY: 0.32, GreenX: 0.265, GreenY: 0.69, BlueX: 0.15, BlueY: 0.06,
			WhitePointX: 0.3127, WhitePointY: 0.329, MaxLuminance: 1000, MinLuminance: 0.0001,
		},
	}
}

// TestColorBoxes checks the colr, mdcv and clli bytes.
func TestColorBoxes(t *testing.T) {
	const (
		colr = "00000013" + "636f6c72" + "6e636c78" + "0009" + "0010" + "0009" + "00"
		// G (0.265, 0.69), B (0.15, 0.06), R (0.68, 0.32), white (0.3127,
		// 0.329) in 0.00002 units; 1000 and 0.0001 cd/m² in 0.0001 units.
		mdcv = "00000020" + "6d646376" + "33c2" + "86c4" + "1d4c" + "0bb8" + "84d0" + "3e80" + "3d13" + "4042" +
			"00989680" + "00000001"
		clli = "0000000c" + "636c6c69" + "03e8" + "0190"
	)
	cases := []struct {
		name string
		ci   *remux.ColorInfo
		want string
	}{
		{"HDR10", hdrColorInfo(), colr + mdcv + clli},
		{"colour only", &remux.ColorInfo{ColorPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: -1},
			"00000013" + "636f6c72" + "6e636c78" + "0001" + "0001" + "0002" + "00"},
		{"light level only", &remux.ColorInfo{ColorPrimaries: -1, TransferCharacteristics: -1, MatrixCoefficients: -1, MaxCLL: 1000, MaxFALL: 400}, clli},
		{"nothing", &remux.ColorInfo{ColorPrimaries: -1, TransferCharacteristics: -1, MatrixCoefficients: -1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := videoTrack(1, 0)
			tr.ColorInfo = c.ci
			if got := hex.EncodeToString(colorBoxes(tr)); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
	vp9 := must(remux.NewVP9Track(remux.VP9Config{BitDepth: 8, ChromaSubsampling: 1, FullRange: true}, 320, 240))
	vp9.ColorInfo = &remux.ColorInfo{ColorPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: 1}
	if b := colorBoxes(vp9); len(b) != colrNclxSize || b[colrNclxSize-1] != 0x80 {
		t.Errorf("VP9 full range colr %x", b)
	}
}

// TestPatchInitColor checks that the colour boxes follow the decoder
// configuration box of each video codec, that every enclosing size is
// fixed, that the audio track is untouched and that patching again
// changes nothing.
func TestPatchInitColor(t *testing.T) {
	boxes := colorBoxes(&remux.Track{ColorInfo: hdrColorInfo()})
	for _, c := range extCases() {
		if c.entry != "av01" && c.entry != "vp09" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			tr := c.track(t)
			tr.ColorInfo = hdrColorInfo()
			testPatchColor(t, tr, c.entry, c.config, boxes)
		})
	}
	t.Run("H264", func(t *testing.T) {
		tr := videoTrack(1, 0)
		tr.ColorInfo = hdrColorInfo()
		testPatchColor(t, tr, "avc1", "avcC", boxes)
	})
}

func testPatchColor(t *testing.T, tr *remux.Track, entry, config string, boxes []byte) {
	t.Helper()
	plain := *tr
	plain.ColorInfo = nil
	a := audioTrack(2)
	before := buildInit(t, &plain, a)
	init := buildInit(t, tr, a)
	checkBoxTree(t, init)
	if len(init) != len(before)+len(boxes) {
		t.Errorf("init grew by %d bytes, want %d", len(init)-len(before), len(boxes))
	}
	cfg := findConfigBox(init, entry, config)
	if cfg == nil {
		t.Fatalf("no %s/%s", entry, config)
	}
	// cfg is a window into init: the colour boxes start right after it.
	off := bytes.Index(init, cfg) + len(cfg)
	if !bytes.Equal(init[off:off+len(boxes)], boxes) {
		t.Errorf("after %s: %x, want %x", config, init[off:off+len(boxes)], boxes)
	}
	if !bytes.Equal(findConfigBox(init, "mp4a", "esds"), findConfigBox(before, "mp4a", "esds")) {
		t.Error("audio entry changed")
	}
	again := patchInit(bytes.Clone(init), []*trackState{{src: tr, id: 1}, {src: a, id: 2}})
	if !bytes.Equal(again, init) {
		t.Error("patching twice changed the init")
	}
}

// TestFFprobeColorInfo feeds a real x264 clip with BT.2020 / PQ colorInfo
// (mastering display and light levels) through the fMP4 variant and checks
// what ffprobe reads from the init segment and first media segment.
func TestFFprobeColorInfo(t *testing.T) {
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
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4",
		"-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p", "-f", "flv", flv)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	sps, pps, _, samples := readFLV(t, must(os.ReadFile(flv)))
	vt := &remux.Track{ID: 1, Kind: remux.KindVideo, Codec: remux.CodecH264, ClockRate: 90000, SPS: sps, PPS: pps,
		ColorInfo: hdrColorInfo()}
	m := newTestManager(t, testConfig(VariantFMP4))
	defer m.Close()
	p := must(m.Publish("live", "cam"))
	if err := p.SetTracks([]*remux.Track{vt}); err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.video {
			if err := p.WriteSample(&remux.Sample{Track: vt, DTS: s.dts * 90, PTS: s.pts * 90, Key: s.key, NALUs: s.nalus}); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.End(true)
	out := t.TempDir()
	pl := writeStream(t, m, out)
	requireServedInitPatched(t, out, pl.Segments[0].Map, vt)
	file := filepath.Join(out, "init_seg.mp4")
	joined := append(must(os.ReadFile(filepath.Join(out, pl.Segments[0].Map))), must(os.ReadFile(filepath.Join(out, pl.Segments[0].URI)))...)
	if err := os.WriteFile(file, joined, 0o644); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "flat", file)
	b, err := probe.CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, b)
	}
	got := string(b)
	for _, want := range []string{
		`color_primaries="bt2020"`, `color_transfer="smpte2084"`, `color_space="bt2020nc"`, `color_range="tv"`,
		`side_data_type="Mastering display metadata"`,
		`red_x="34000/50000"`, `green_y="34500/50000"`, `white_point_x="15635/50000"`,
		`max_luminance="10000000/10000"`, `min_luminance="1/10000"`,
		`side_data_type="Content light level metadata"`, `max_content=1000`, `max_average=400`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ffprobe -show_streams lacks %s", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("ffprobe:\n%s", got)
	}
	checkDecodes(t, filepath.Join(out, MediaPlaylistName), "h264", videoFrames(samples))
}

func videoFrames(samples []flvSample) []extFrame {
	var out []extFrame
	for _, s := range samples {
		if s.video {
			out = append(out, extFrame{pts: s.pts * 90, key: s.key})
		}
	}
	return out
}
