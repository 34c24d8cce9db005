package hls

import (
	"bytes"
	"context"
	"net/url"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// benchFrameBytes is an average 6 Mbit/s frame at 30 fps.
const benchFrameBytes = 6_000_000 / 8 / 30

// BenchmarkWriteSample measures one video frame (30 fps, ~6 Mbit/s, 2 s
// GOP) plus the AAC frames (44.1 kHz) that come with it, per variant. Per
// segment costs (the segment buffer, the objects, the snapshot) are
// amortized over its 60 frames.
func BenchmarkWriteSample(b *testing.B) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		b.Run(string(v), func(b *testing.B) {
			m := newTestManager(b, testConfig(v))
			defer m.Close()
			p, err := m.Publish("live", "cam")
			if err != nil {
				b.Fatal(err)
			}
			f := newFeeder(b, p, videoTrack(1, 0), audioTrack(2))
			f.sleep = false
			f.bframes = true
			f.frame = bytes.Repeat([]byte{0x41, 0x9a, 0x02, 0x11}, benchFrameBytes/4)
			// Warm up: a few segments, so buffers have their working size.
			if err := f.run(10e9); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(benchFrameBytes)
			for b.Loop() {
				if err := f.run(f.vTime(f.vi+1) - f.elapsed()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet measures requests against a prepared LL-HLS stream.
func BenchmarkGet(b *testing.B) {
	m := newTestManager(b, testConfig(VariantLowLatency))
	defer m.Close()
	p, _ := m.Publish("live", "cam")
	f := newFeeder(b, p, videoTrack(1, 0), audioTrack(2))
	f.sleep = false
	if err := f.run(20e9); err != nil {
		b.Fatal(err)
	}
	pl := parsePlaylist(b, mustGet(b, m, MediaPlaylistName))
	last := pl.Segments[len(pl.Segments)-1]
	cases := []struct {
		name, file string
		q          url.Values
	}{
		{"playlist", MediaPlaylistName, nil},
		{"playlist_blocking_satisfied", MediaPlaylistName, msnQuery(last.MSN, 2)},
		{"playlist_delta", MediaPlaylistName, url.Values{"_HLS_skip": {"YES"}}},
		{"multivariant", MultivariantName, nil},
		{"segment", last.URI, nil},
		{"part", last.Parts[3].URI, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Get(ctx, "live", "cam", c.file, c.q); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkFragment compares our moof+mdat writer with mediacommon's
// fmp4.Part.Marshal on one LL-HLS part (6 video frames at 6 Mbit/s and 9
// AAC frames).
func BenchmarkFragment(b *testing.B) {
	video := bytes.Repeat([]byte{1}, benchFrameBytes)
	aac := bytes.Repeat([]byte{2}, 300)
	var vs, as []*fmp4.Sample
	vt := fragTrack{id: 1, baseTime: 1000}
	at := fragTrack{id: 2, baseTime: 1000}
	for i := 0; i < 6; i++ {
		vs = append(vs, &fmp4.Sample{Duration: 3000, PTSOffset: 6000, IsNonSyncSample: i > 0, Payload: video})
		vt.entries = append(vt.entries, sampleEntry{dur: 3000, cto: 6000, off: len(vt.data), size: len(video), key: i == 0})
		vt.data = append(vt.data, video...)
	}
	for i := 0; i < 9; i++ {
		as = append(as, &fmp4.Sample{Duration: 1024, Payload: aac})
		at.entries = append(at.entries, sampleEntry{dur: 1024, off: len(at.data), size: len(aac), key: true})
		at.data = append(at.data, aac...)
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256<<10)
		tracks := []fragTrack{vt, at}
		for b.Loop() {
			buf = appendFragment(buf[:0], 1, tracks)
		}
	})
	b.Run("mediacommon", func(b *testing.B) {
		b.ReportAllocs()
		var buf seekablebuffer.Buffer
		for b.Loop() {
			buf.Reset()
			part := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{
				{ID: 1, BaseTime: 1000, Samples: vs}, {ID: 2, BaseTime: 1000, Samples: as},
			}}
			if err := part.Marshal(&buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderMediaPlaylist measures rendering one snapshot of an LL-HLS
// playlist (done once per playlist version, then shared by every request).
func BenchmarkRenderMediaPlaylist(b *testing.B) {
	m := newTestManager(b, testConfig(VariantLowLatency))
	defer m.Close()
	p, _ := m.Publish("live", "cam")
	f := newFeeder(b, p, videoTrack(1, 0), audioTrack(2))
	f.sleep = false
	if err := f.run(20e9 + 700e6); err != nil {
		b.Fatal(err)
	}
	v := m.lookup("live", "cam").snap.Load()
	b.ReportAllocs()
	for b.Loop() {
		if o := v.renderFull(); len(o.Body) == 0 {
			b.Fatal("empty")
		}
	}
}
