package hls

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
)

type discard struct{ n int }

func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func BenchmarkScratchTS(b *testing.B) {
	vt := &mpegts.Track{Codec: &mpegts.CodecH264{}}
	at := &mpegts.Track{Codec: &mpegts.CodecMPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 44100, ChannelCount: 2}}}
	d := &discard{}
	w := &mpegts.Writer{W: d, Tracks: []*mpegts.Track{vt, at}}
	w.Initialize()
	frame := bytes.Repeat([]byte{1}, 25000)
	au := [][]byte{{9, 240}, {0x41, 1, 2}, frame}
	aac := bytes.Repeat([]byte{2}, 300)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.WriteH264(vt, int64(i*3000+6000), int64(i*3000), au)
		w.WriteMPEG4Audio(at, int64(i*3000), [][]byte{aac})
		w.WriteMPEG4Audio(at, int64(i*3000+1500), [][]byte{aac})
	}
}

func BenchmarkScratchFMP4Part(b *testing.B) {
	frame := bytes.Repeat([]byte{1}, 25000)
	aac := bytes.Repeat([]byte{2}, 300)
	var vs, as []*fmp4.Sample
	for i := 0; i < 6; i++ {
		vs = append(vs, &fmp4.Sample{Duration: 3000, PTSOffset: 3000, IsNonSyncSample: true, Payload: frame})
		as = append(as, &fmp4.Sample{Duration: 1024, Payload: aac}, &fmp4.Sample{Duration: 1024, Payload: aac})
	}
	b.ReportAllocs()
	var buf seekablebuffer.Buffer
	for b.Loop() {
		buf.Reset()
		p := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: 1000, Samples: vs}, {ID: 2, BaseTime: 1000, Samples: as}}}
		p.Marshal(&buf)
	}
}
