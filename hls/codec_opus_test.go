package hls

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livegate/gateway/remux"
)

// opus51Head is the OpusHead libopus writes for 5.1 with -mapping_family 1
// (RFC 7845 §5.1.1.2: 4 streams, 2 coupled, Vorbis order L C R Ls Rs LFE
// mapped to 0 4 1 2 3 5), pre-skip 312, input 48 kHz.
const opus51Head = "4f707573486561640106380180bb0000000001" + "04020004010203" + "05"

func opus51Track(t testing.TB) *remux.Track {
	t.Helper()
	b, _ := hex.DecodeString(opus51Head)
	c, err := remux.ParseOpusHead(b)
	if err != nil {
		t.Fatal(err)
	}
	return must(remux.NewOpusTrack(c))
}

// TestOpusDOps checks the OpusSpecificBox bytes for both mapping families.
func TestOpusDOps(t *testing.T) {
	cases := []struct {
		name string
		c    remux.OpusConfig
		want string
	}{
		{"stereo", remux.OpusConfig{Version: 1, ChannelCount: 2, PreSkip: 3840, InputSampleRate: 44100, OutputGain: -256},
			"00000013" + "644f7073" + "00" + "02" + "0f00" + "0000ac44" + "ff00" + "00"},
		{"5.1", remux.OpusConfig{Version: 1, ChannelCount: 6, PreSkip: 312, InputSampleRate: 48000, MappingFamily: 1,
			StreamCount: 4, CoupledCount: 2, ChannelMapping: []byte{0, 4, 1, 2, 3, 5}},
			"0000001b" + "644f7073" + "00" + "06" + "0138" + "0000bb80" + "0000" + "01" + "04" + "02" + "000401020305"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hex.EncodeToString(opusDOps(&c.c, 0)); got != c.want {
				t.Errorf("dOps\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// checkBoxTree verifies that every container box of an init segment is
// exactly the sum of its children, the sample entries included.
func checkBoxTree(t *testing.T, b []byte) {
	t.Helper()
	var walk func(b []byte, path string)
	walk = func(b []byte, path string) {
		for len(b) > 0 {
			if len(b) < 8 {
				t.Fatalf("%s: %d stray bytes", path, len(b))
			}
			size := int(binary.BigEndian.Uint32(b))
			if size < 8 || size > len(b) {
				t.Fatalf("%s: box size %d of %d bytes left", path, size, len(b))
			}
			typ, body := string(b[4:8]), b[8:size]
			switch {
			case typ == "moov" || typ == "trak" || typ == "mdia" || typ == "minf" || typ == "stbl" || typ == "mvex":
				walk(body, path+"/"+typ)
			case typ == "stsd":
				walk(body[stsdFields:], path+"/"+typ)
			case strings.HasSuffix(path, "/stsd") && isVisualEntry(typ):
				walk(body[visualEntryFields:], path+"/"+typ)
			case strings.HasSuffix(path, "/stsd"):
				walk(body[audioEntryFields:], path+"/"+typ)
			}
			b = b[size:]
		}
	}
	walk(b, "")
}

// buildInit builds the patched init segment of tracks, numbered from 1.
func buildInit(t *testing.T, tracks ...*remux.Track) []byte {
	t.Helper()
	var states []*trackState
	for i, tr := range tracks {
		states = append(states, &trackState{src: tr, id: uint32(i + 1), clock: int64(tr.ClockRate)})
	}
	var mux fmp4Muxer
	init, err := mux.begin(states, states[0])
	if err != nil {
		t.Fatal(err)
	}
	return patchInit(init, states)
}

// TestPatchInitOpusMultichannel checks the init of a 5.1 Opus track: the
// dOps carries the mapping table, the sample entry says 6 channels, every
// enclosing size is fixed and patching again changes nothing.
func TestPatchInitOpusMultichannel(t *testing.T) {
	tr := opus51Track(t)
	if err := checkTrack(tr); err != nil {
		t.Fatal(err)
	}
	init := buildInit(t, videoTrack(1, 0), tr)
	checkBoxTree(t, init)
	dops := findConfigBox(init, "Opus", "dOps")
	if got, want := hex.EncodeToString(dops), "0006013800"+"00bb80"+"0000"+"01"+"0402"+"000401020305"; got != want {
		t.Errorf("dOps %s, want %s", got, want)
	}
	var channels uint16
	walkBoxes(init, func(typ string, body []byte) bool {
		switch typ {
		case "moov", "trak", "mdia", "minf", "stbl":
			return true
		case "stsd":
			walkBoxes(body[stsdFields:], func(typ string, body []byte) bool {
				if typ == "Opus" {
					// AudioSampleEntry: reserved(6) data_reference_index(2)
					// reserved(8) channelcount(2).
					channels = binary.BigEndian.Uint16(body[16:])
				}
				return false
			})
		}
		return false
	})
	if channels != 6 {
		t.Errorf("Opus sample entry channelcount %d, want 6", channels)
	}
	again := patchInit(bytes.Clone(init), []*trackState{{src: videoTrack(1, 0), id: 1}, {src: tr, id: 2}})
	if !bytes.Equal(again, init) {
		t.Error("patching twice changed the init")
	}
	if got := codecString(tr); got != "opus" {
		t.Errorf("CODECS %q", got)
	}
}

// TestCheckTrackOpusFamilies: family 0 and 1 are carried, 255 is refused.
func TestCheckTrackOpusFamilies(t *testing.T) {
	tr := opus51Track(t)
	if err := checkTrack(tr); err != nil {
		t.Errorf("family 1: %v", err)
	}
	odd := *tr
	c := *tr.Opus
	c.MappingFamily = 255
	odd.Opus = &c
	if err := checkTrack(&odd); err == nil || !strings.Contains(err.Error(), "mapping family 255") {
		t.Errorf("family 255: %v", err)
	}
	c2 := *tr.Opus
	c2.ChannelMapping = c2.ChannelMapping[:3]
	odd.Opus = &c2
	if err := checkTrack(&odd); err == nil {
		t.Error("family 1 with a short mapping table accepted")
	}
}

// servedInitPatched reports whether init, served by a Manager, carries
// what patchInit adds (a Manager dropping patchInit's result would serve
// mediacommon's boxes for what has to grow: multichannel dOps, colour).
func servedInitPatched(init []byte, tracks ...*remux.Track) bool {
	var states []*trackState
	for _, tr := range tracks {
		states = append(states, &trackState{src: tr, id: uint32(tr.ID)})
	}
	return bytes.Equal(patchInit(bytes.Clone(init), states), init)
}

// TestServedInitPatched checks that the Manager serves the grown init of a
// 5.1 Opus track and of a video track with colorInfo.
func TestServedInitPatched(t *testing.T) {
	a := opus51Track(t)
	a.ID = 2
	v := videoTrack(1, 0)
	v.ColorInfo = hdrColorInfo()
	m := newTestManager(t, testConfig(VariantFMP4))
	defer m.Close()
	feedExt(t, m, v, a, 960)
	pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
	if len(pl.Segments) == 0 {
		t.Fatal("no segments")
	}
	init := mustGet(t, m, pl.Segments[0].Map).Body
	if !servedInitPatched(init, v, a) {
		t.Fatal("served init lacks the boxes patchInit adds")
	}
	checkBoxTree(t, init)
}

// requireServedInitPatched fails unless the init file name in dir carries
// what patchInit adds.
func requireServedInitPatched(t *testing.T, dir, name string, tracks ...*remux.Track) {
	t.Helper()
	if !servedInitPatched(must(os.ReadFile(filepath.Join(dir, name))), tracks...) {
		t.Fatalf("%s: served init lacks the boxes patchInit adds", name)
	}
}
