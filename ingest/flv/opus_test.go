package flv

import (
	"bytes"
	"testing"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// A 5.1 libopus stream (RFC 7845 channel mapping family 1) published as
// E-RTMP Opus: the SequenceStart's OpusHead gives the stream and coupled
// counts and the mapping table, read little-endian.
func TestERTMPOpusMultichannel(t *testing.T) {
	t.Parallel()
	p := encoded(t, "opus51.ogg", append(sine("48000"), "-ac", "6", "-c:a", "libopus", "-mapping_family", "1",
		"-b:a", "256k", "-f", "ogg")...)
	src, err := ertmp.ReadOggOpus(p)
	if err != nil {
		t.Fatal(err)
	}
	f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{NanoOffsets: true}, src))
	a := f.trackOf(remux.KindAudio, 0)
	if a == nil || a.Codec != remux.CodecOpus || a.ChannelCount != 6 || a.Opus == nil {
		t.Fatalf("track %+v", a)
	}
	c := a.Opus
	if c.MappingFamily != 1 || c.StreamCount != 4 || c.CoupledCount != 2 || !bytes.Equal(c.ChannelMapping, []byte{0, 4, 1, 2, 3, 5}) ||
		c.PreSkip != 312 || c.InputSampleRate != 48000 {
		t.Errorf("OpusHead %+v", c)
	}
	checkTiming(t, "Opus 5.1", f.samplesOf(a.ID), src.Frames, remux.OpusClockRate, 0)
	if st := f.d.Stats(); st.Dropped != 0 || len(f.sink.sets) != 1 {
		t.Errorf("stats %+v, %d SetTracks\n%s", st, len(f.sink.sets), f.logs)
	}
}
