package flv

import (
	"strings"
	"testing"

	"github.com/livegate/gateway/remux"
)

// mpegFrame builds an MPEG audio frame of the size its header says.
func mpegFrame(h1, h2, h3 byte) []byte {
	hdr := []byte{0xff, h1, h2, h3}
	_, size, _, err := remux.ParseMPEGAudioFrame(hdr)
	if err != nil {
		panic(err)
	}
	f := make([]byte, size)
	copy(f, hdr)
	return f
}

// MPEG audio frame headers (ISO/IEC 11172-3 §2.4.1.3, 13818-3 §2.4.1.3):
// byte 1 = version, layer, no CRC; byte 2 = bitrate index, sampling index,
// padding; byte 3 = mode (00 stereo, 01 joint stereo, 11 single channel).
var (
	mp3Joint44  = mpegFrame(0xfb, 0x90, 0x44) // MPEG-1 Layer III 128 kbit/s 44.1 kHz joint stereo
	mp3Stereo44 = mpegFrame(0xfb, 0xa0, 0x04) // 160 kbit/s, stereo: same stream
	mp3Mono44   = mpegFrame(0xfb, 0x90, 0xc4) // single channel
	mp3Joint48  = mpegFrame(0xfb, 0x94, 0x44) // 48 kHz
	mp3LSF24    = mpegFrame(0xf3, 0x84, 0x44) // MPEG-2 Layer III 64 kbit/s 24 kHz
	mp3MPEG25   = []byte{0xff, 0xe3, 0x84, 0x44, 0, 0, 0, 0}
)

// mp3Tag builds a legacy AUDIODATA body: SoundFormat 2 with the flags
// ffmpeg writes (44 kHz, 16 bits, stereo), then the frames.
func mp3Tag(frames ...[]byte) []byte {
	b := []byte{soundFormatMP3<<4 | 0x0f}
	for _, f := range frames {
		b = append(b, f...)
	}
	return b
}

func TestDemuxerLegacyMP3(t *testing.T) {
	f := newFixture(t)
	f.audio(t, 0, mp3Tag(mp3Joint44))
	f.audio(t, 26, mp3Tag(mp3Stereo44))                 // bitrate and mode change: same configuration
	f.audio(t, 52, append([]byte{0x22}, mp3Joint44...)) // other SoundRate/SoundType bits: ignored
	f.audio(t, 78, mp3Tag(mp3Joint44, mp3Joint44))      // two frames in one message
	f.audio(t, 130, mp3Tag(mp3Joint48))                 // sample rate change: new generation
	f.audio(t, 154, mp3Tag(mp3Joint48))
	f.audio(t, 178, mp3Tag(mp3Mono44)) // and again
	if st := f.d.Stats(); st.Dropped != 0 {
		t.Fatalf("stats %+v\n%s", st, f.logs)
	}
	if len(f.sink.sets) != 3 {
		t.Fatalf("%d SetTracks calls, want 3", len(f.sink.sets))
	}
	want := []struct {
		rate, channels int
		mono           bool
	}{{44100, 2, false}, {48000, 2, false}, {44100, 1, true}}
	for i, w := range want {
		tr := f.sink.sets[i][0]
		if tr.Codec != remux.CodecMP3 || tr.ClockRate != w.rate || tr.SampleRate != w.rate || tr.ChannelCount != w.channels ||
			tr.MPEGAudio == nil || tr.MPEGAudio.Layer != 3 || tr.MPEGAudio.MPEG2 || tr.MPEGAudio.Mono != w.mono || tr.Generation != i {
			t.Errorf("configuration %d: %+v %+v", i, tr, tr.MPEGAudio)
		}
	}
	s := f.sink.samples
	if len(s) != 7 {
		t.Fatalf("%d samples", len(s))
	}
	// The first generation's clock counts samples: 1152 per frame.
	for i, dts := range []int64{0, 1152, 2304, 3456} {
		if s[i].DTS != dts || s[i].Gen != 0 {
			t.Errorf("sample %d: %+v, want DTS %d", i, s[i], dts)
		}
	}
	if len(s[3].Payload) != 2*len(mp3Joint44) {
		t.Errorf("two-frame message: payload of %d bytes", len(s[3].Payload))
	}
	if s[4].Gen != 1 || s[6].Gen != 2 {
		t.Errorf("generations %d, %d", s[4].Gen, s[6].Gen)
	}
}

func TestDemuxerLegacyMP3LowSampleRates(t *testing.T) {
	f := newFixture(t)
	f.audio(t, 0, mp3Tag(mp3LSF24)) // MPEG-2 "LSF": supported, 576 samples per frame
	f.audio(t, 24, mp3Tag(mp3LSF24))
	tr := f.sink.lastSet()
	if len(tr) != 1 || tr[0].ClockRate != 24000 || !tr[0].MPEGAudio.MPEG2 {
		t.Fatalf("tracks %+v", tr)
	}
	if s := f.sink.samples; len(s) != 2 || s[1].DTS != 576 {
		t.Fatalf("samples %+v", s)
	}
}

// mp3DropCases are legacy MP3 messages that are dropped; malformed ones
// are logged with the error that names the problem.
var mp3DropCases = []struct {
	name        string
	body        []byte
	unsupported bool
	err         string
}{
	{name: "empty", body: []byte{0x2f}, err: "empty MP3 frame"},
	{name: "short header", body: []byte{0x2f, 0xff, 0xfb}, err: "MPEG audio frame of 2 bytes"},
	{name: "no syncword", body: mp3Tag([]byte{0xff, 0x7b, 0x90, 0x44}), err: "no MPEG audio syncword"},
	{name: "reserved layer", body: mp3Tag([]byte{0xff, 0xf9, 0x90, 0x44}), err: "reserved MPEG audio layer"},
	{name: "free format", body: mp3Tag([]byte{0xff, 0xfb, 0x00, 0x44}), err: "bitrate index 0"},
	{name: "bad bitrate", body: mp3Tag([]byte{0xff, 0xfb, 0xf0, 0x44}), err: "bitrate index 15"},
	{name: "reserved sampling", body: mp3Tag([]byte{0xff, 0xfb, 0x9c, 0x44}), err: "sampling index 3"},
	{name: "ADTS", body: mp3Tag(adts(4, 2, []byte{0x21})), err: "reserved MPEG audio layer"},
	{name: "MPEG-2.5", body: mp3Tag(mp3MPEG25), unsupported: true},
	{name: "MP3 8 kHz", body: append([]byte{soundFormatMP38k<<4 | 0x02}, mp3MPEG25...), unsupported: true},
}

func TestDemuxerLegacyMP3Dropped(t *testing.T) {
	for _, c := range mp3DropCases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.audio(t, 0, c.body)
			f.audio(t, 0, c.body) // logged once (rate limit or once per format)
			st := f.d.Stats()
			if len(f.sink.sets) != 0 || len(f.sink.samples) != 0 || st.Dropped != 2 {
				t.Fatalf("sets %v samples %v stats %+v", f.sink.sets, f.sink.samples, st)
			}
			logs := f.logs.String()
			if c.unsupported {
				if st.Unsupported != 2 || strings.Count(logs, "MPEG-2.5 audio") != 1 {
					t.Errorf("stats %+v, logs:\n%s", st, logs)
				}
				return
			}
			if st.Malformed != 2 || !strings.Contains(logs, c.err) {
				t.Errorf("stats %+v, want a malformed drop saying %q; logs:\n%s", st, c.err, logs)
			}
			if c.name != "empty" && !strings.Contains(logs, ErrMPEGAudio.Error()) {
				t.Errorf("the error does not wrap ErrMPEGAudio:\n%s", logs)
			}
		})
	}
}

func TestDemuxerLegacyMP3AfterBadFrames(t *testing.T) {
	f := newFixture(t)
	for _, c := range mp3DropCases {
		f.audio(t, 0, c.body)
	}
	f.audio(t, 0, mp3Tag(mp3Joint44)) // the first good frame configures the track
	f.audio(t, 26, mp3Tag([]byte{0xff, 0xfb, 0xf0, 0x44}))
	f.audio(t, 52, mp3Tag(mp3Joint44))
	// The clock counts the frames received: the lost frame is a 26 ms
	// jitter it absorbs.
	if len(f.sink.sets) != 1 || len(f.sink.samples) != 2 || f.sink.samples[1].DTS != 1152 {
		t.Fatalf("sets %v samples %+v", f.sink.sets, f.sink.samples)
	}
}

func TestDemuxerLegacyMP3CodecSwitch(t *testing.T) {
	f := newFixture(t)
	f.audio(t, 0, aacTag(0, asc44mono))
	f.audio(t, 0, aacTag(1, []byte{0x21, 1}))
	f.audio(t, 23, mp3Tag(mp3Joint44)) // AAC to MP3: a new configuration
	f.audio(t, 49, aacTag(1, []byte{0x21, 1}))
	if len(f.sink.sets) != 2 || f.sink.sets[1][0].Codec != remux.CodecMP3 || f.sink.sets[1][0].Generation != 1 {
		t.Fatalf("sets %v", f.sink.sets)
	}
	// A raw AAC frame against the MP3 configuration is dropped.
	if len(f.sink.samples) != 2 || f.d.Stats().Malformed != 1 {
		t.Fatalf("samples %+v stats %+v", f.sink.samples, f.d.Stats())
	}
}

func TestDemuxerMetadataMP3Awaited(t *testing.T) {
	f := newFixture(t)
	if err := f.d.Metadata(map[string]any{"videocodecid": 7.0, "audiocodecid": 2.0}); err != nil {
		t.Fatal(err)
	}
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	f.video(t, 0, videoTag(1, 7, 1, 0, lengthPrefixed(4, idrNAL)))
	if len(f.sink.sets) != 0 {
		t.Fatal("started before the announced MP3 track was configured")
	}
	f.audio(t, 0, mp3Tag(mp3Joint44))
	if len(f.sink.sets) != 1 || len(f.sink.sets[0]) != 2 || f.sink.sets[0][1].Codec != remux.CodecMP3 {
		t.Fatalf("sets %v", f.sink.sets)
	}
}

func TestDemuxerLegacyMP3ZeroAllocs(t *testing.T) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	body := mp3Tag(mp3Joint44)
	if err := d.Audio(0, body); err != nil {
		t.Fatal(err)
	}
	var ts uint32
	n := testing.AllocsPerRun(1000, func() {
		ts += 26
		if err := d.Audio(ts, body); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per MP3 message", n)
	}
}
