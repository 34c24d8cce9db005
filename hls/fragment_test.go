package hls

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// TestFragmentMatchesMediacommon checks that our moof+mdat writer produces
// exactly the bytes of mediacommon's fmp4.Part.Marshal.
func TestFragmentMatchesMediacommon(t *testing.T) {
	payload := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	cases := []struct {
		name   string
		tracks [][]fmp4.Sample
	}{
		{"video key only", [][]fmp4.Sample{{{Duration: 3000, Payload: payload(100, 1)}}}},
		{"video gop with B-frames", [][]fmp4.Sample{{
			{Duration: 3000, PTSOffset: 6000, Payload: payload(500, 1)},
			{Duration: 3000, PTSOffset: 9000, IsNonSyncSample: true, Payload: payload(50, 2)},
			{Duration: 3000, PTSOffset: 0, IsNonSyncSample: true, Payload: payload(20, 3)},
			{Duration: 3000, PTSOffset: -3000, IsNonSyncSample: true, Payload: payload(20, 4)},
		}}},
		{"audio only", [][]fmp4.Sample{{
			{Duration: 1024, Payload: payload(300, 5)},
			{Duration: 1024, Payload: payload(310, 6)},
		}}},
		{"video and audio", [][]fmp4.Sample{
			{
				{Duration: 3000, Payload: payload(700, 1)},
				{Duration: 3001, IsNonSyncSample: true, Payload: payload(70, 2)},
			},
			{
				{Duration: 1024, Payload: payload(300, 5)},
				{Duration: 1023, Payload: payload(301, 6)},
				{Duration: 1025, Payload: payload(302, 7)},
			},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			part := fmp4.Part{SequenceNumber: 42}
			var ours []fragTrack
			for i, samples := range c.tracks {
				base := uint64(900000 + i*7)
				pt := &fmp4.PartTrack{ID: i + 1, BaseTime: base}
				ft := fragTrack{id: uint32(i + 1), baseTime: base}
				dts := int64(base)
				for j := range samples {
					s := samples[j]
					pt.Samples = append(pt.Samples, &s)
					ft.entries = append(ft.entries, sampleEntry{
						dts: dts, dur: int64(s.Duration), cto: s.PTSOffset,
						off: len(ft.data), size: len(s.Payload), key: !s.IsNonSyncSample,
					})
					ft.data = append(ft.data, s.Payload...)
					dts += int64(s.Duration)
				}
				part.Tracks = append(part.Tracks, pt)
				ours = append(ours, ft)
			}
			var want seekablebuffer.Buffer
			if err := part.Marshal(&want); err != nil {
				t.Fatal(err)
			}
			got := appendFragment(nil, 42, ours)
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("bytes differ\n got %x\nwant %x", got, want.Bytes())
			}
			var back fmp4.Parts
			if err := back.Unmarshal(got); err != nil {
				t.Fatalf("mediacommon cannot read it back: %v", err)
			}
		})
	}
}
