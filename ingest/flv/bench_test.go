package flv

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/remux"
)

type discardSink struct{}

func (discardSink) SetTracks([]*remux.Track) error  { return nil }
func (discardSink) WriteSample(*remux.Sample) error { return nil }

var discardLog = zerolog.Nop()

// BenchmarkDemuxerVideo measures one RTMP video message (a ~12 KB access
// unit: AUD, SEI, one slice) through Demuxer → Remuxer → a discarding sink.
func BenchmarkDemuxerVideo(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	if err := d.Video(0, videoTag(1, 7, 0, 0, x264Record)); err != nil {
		b.Fatal(err)
	}
	slice := make([]byte, 12000)
	slice[0] = 0x41
	body := videoTag(2, 7, 1, 67, lengthPrefixed(4, aud, sei, slice))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ts uint32
	for b.Loop() {
		ts += 33
		if err := d.Video(ts, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDemuxerVideoSliced is an access unit of 32 slices (sliced
// threads / low-latency encoders).
func BenchmarkDemuxerVideoSliced(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	if err := d.Video(0, videoTag(1, 7, 0, 0, x264Record)); err != nil {
		b.Fatal(err)
	}
	nalus := [][]byte{aud}
	for range 32 {
		s := make([]byte, 400)
		s[0] = 0x41
		nalus = append(nalus, s)
	}
	body := videoTag(2, 7, 1, 67, lengthPrefixed(4, nalus...))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ts uint32
	for b.Loop() {
		ts += 33
		if err := d.Video(ts, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDemuxerAudio measures one AAC message (a 370-byte frame).
func BenchmarkDemuxerAudio(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	if err := d.Audio(0, aacTag(0, asc48stereo)); err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, 370)
	frame[0] = 0x21
	body := aacTag(1, frame)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ts uint32
	n := 0
	for b.Loop() {
		n++
		ts = uint32(n * 1024 * 1000 / 48000)
		if err := d.Audio(ts, body); err != nil {
			b.Fatal(err)
		}
	}
}
