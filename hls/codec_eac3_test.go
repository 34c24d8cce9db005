package hls

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/livegate/gateway/remux"
)

// TestFMP4EAC3DependentSubstreams checks the dec3 box (ETSI TS 102 366
// F.6) of a 7.1 stream, a 5.1 independent substream plus a dependent
// substream with the Lrs/Rrs pair, and of plain 5.1.
func TestFMP4EAC3DependentSubstreams(t *testing.T) {
	for _, c := range []struct {
		name     string
		cfg      remux.EAC3Config
		channels uint16
		dec3     string
	}{
		// data_rate 256 (13 bits), num_ind_sub 0 | fscod 0, bsid 16,
		// reserved | asvc, bsmod 0, acmod 7, lfeon | reserved,
		// num_dep_sub 1, chan_loc 0x002 (9 bits).
		{"7.1", remux.EAC3Config{SampleRate: 48000, Bsid: 16, Acmod: 7, LfeOn: true, Blocks: 6, DataRate: 256, NumDepSub: 1, ChanLoc: 2},
			8, "0800" + "20" + "0f" + "02" + "02"},
		// num_dep_sub 0, then one reserved bit.
		{"5.1", remux.EAC3Config{SampleRate: 48000, Bsid: 16, Acmod: 7, LfeOn: true, Blocks: 6, DataRate: 192},
			6, "0600" + "20" + "0f" + "00"},
		// LFE2 is chan_loc's ninth bit.
		{"LFE2", remux.EAC3Config{SampleRate: 44100, Bsid: 16, Acmod: 7, LfeOn: true, Blocks: 6, DataRate: 192, NumDepSub: 1, ChanLoc: 1 << 8},
			7, "0600" + "60" + "0f" + "03" + "00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := must(remux.NewEAC3Track(c.cfg))
			if tr.ChannelCount != int(c.channels) {
				t.Errorf("track channels %d, want %d", tr.ChannelCount, c.channels)
			}
			if err := checkTrack(tr); err != nil {
				t.Fatal(err)
			}
			init := buildInit(t, tr)
			checkBoxTree(t, init)
			if got := hex.EncodeToString(findConfigBox(init, "ec-3", "dec3")); got != c.dec3 {
				t.Errorf("dec3 %s, want %s", got, c.dec3)
			}
			var channels uint16
			mp4Boxes(init, func(typ string, body []byte) {
				if typ == "stsd" {
					// The entry's AudioSampleEntry channelcount (after the
					// stsd header, the entry header and 16 bytes of fields).
					channels = binary.BigEndian.Uint16(body[stsdFields+8+16:])
				}
			})
			if channels != c.channels {
				t.Errorf("sample entry channelcount %d, want %d", channels, c.channels)
			}
			if got := codecString(tr); got != "ec-3" {
				t.Errorf("CODECS %q", got)
			}
		})
	}
}
