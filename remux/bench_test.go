package remux

import (
	"testing"

	"github.com/rs/zerolog"
)

type discardSink struct{}

func (discardSink) SetTracks([]*Track) error  { return nil }
func (discardSink) WriteSample(*Sample) error { return nil }

func discardLogger() zerolog.Logger { return zerolog.Nop() }

// BenchmarkRemuxer measures one video access unit plus one AAC frame
// through the Remuxer into a sink that discards them.
func BenchmarkRemuxer(b *testing.B) {
	r := NewRemuxer(discardSink{}, discardLogger())
	must(b, r.SetTrack(h264Track(b, sps320)))
	must(b, r.SetTrack(aacTrack(b, asc48stereo)))
	nalus := [][]byte{{0x06, 1}, make([]byte, 8000)}
	nalus[1][0] = 0x41
	payload := make([]byte, 300)
	b.ReportAllocs()
	var ts uint32
	for b.Loop() {
		ts += 21
		if err := r.WriteVideo(0, ts, 42, false, nalus); err != nil {
			b.Fatal(err)
		}
		if err := r.WriteAudio(0, ts, payload); err != nil {
			b.Fatal(err)
		}
	}
}
