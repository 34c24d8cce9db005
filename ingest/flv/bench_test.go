package flv

import (
	"bytes"
	"testing"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
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

// BenchmarkDemuxerAudioMP3 measures one legacy MP3 message (SoundFormat
// 2, a 417-byte 128 kbit/s 44.1 kHz frame): the frame header is parsed
// for its configuration and again by the Remuxer for its duration.
func BenchmarkDemuxerAudioMP3(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	body := mp3Tag(mp3Joint44)
	if err := d.Audio(0, body); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ts uint32
	n := 0
	for b.Loop() {
		n++
		ts = uint32(n * 1152 * 1000 / 44100)
		if err := d.Audio(ts, body); err != nil {
			b.Fatal(err)
		}
	}
	if st := d.Stats(); st.Dropped != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkDemuxerERTMPVideo is BenchmarkDemuxerVideo through E-RTMP: an
// hvc1 CodedFrames message with a TimestampOffsetNano prefix.
func BenchmarkDemuxerERTMPVideo(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	if err := d.Video(0, hvc1(ertmp.VideoSequenceStart, 1, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))); err != nil {
		b.Fatal(err)
	}
	slice := make([]byte, 12000)
	slice[0], slice[1] = 0x02, 0x01 // TRAIL_R
	body := vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFrames, FourCC: ertmp.HEVC, NanoOffset: 333333},
		ertmp.CodedFramesBody(67, lengthPrefixed(4, slice)))
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

// BenchmarkDemuxerERTMPMultitrack is one ManyTracksManyCodecs message
// carrying three renditions: HEVC (12 KB), AV1 (6 KB) and VP9 (4 KB).
func BenchmarkDemuxerERTMPMultitrack(b *testing.B) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	start := ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, Multitrack: true, MultitrackType: ertmp.ManyTracksManyCodecs}
	if err := d.Video(0, vmsg(start, nil,
		ertmp.TrackBody{FourCC: ertmp.HEVC, ID: 0, Body: hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)},
		ertmp.TrackBody{FourCC: ertmp.AV1, ID: 1, Body: av1C})); err != nil {
		b.Fatal(err)
	}
	hevc := make([]byte, 12000)
	hevc[0], hevc[1] = 0x02, 0x01
	av1 := cat(av1TD, []byte{0x32, 0xed, 0x2e}, make([]byte, 5997)) // a 6 KB frame OBU
	av1[5] = 0x30                                                   // INTER_FRAME
	vp9 := bytes.Clone(vp9Inter)
	vp9 = append(vp9, make([]byte, 4000)...)
	frames := start
	frames.FrameType, frames.PacketType = 2, ertmp.VideoCodedFramesX
	body := vmsg(frames, nil,
		ertmp.TrackBody{FourCC: ertmp.HEVC, ID: 0, Body: lengthPrefixed(4, hevc)},
		ertmp.TrackBody{FourCC: ertmp.AV1, ID: 1, Body: av1},
		ertmp.TrackBody{FourCC: ertmp.VP9, ID: 2, Body: vp9})
	key := vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.VP9, Multitrack: true}, nil,
		ertmp.TrackBody{ID: 2, Body: vp9Key})
	if err := d.Video(0, key); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ts uint32
	for b.Loop() {
		ts += 33
		if err := d.Video(ts, body); err != nil {
			b.Fatal(err)
		}
	}
	if st := d.Stats(); st.Dropped != 0 {
		b.Fatalf("stats %+v", st)
	}
}
