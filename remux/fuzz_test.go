package remux

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Seeds run with every `go test`; GEN_FUZZ_SEEDS=1 go test -run
// TestGenerateFuzzSeeds rewrites testdata/fuzz from them.
var (
	spsSeeds = [][]byte{sps320, sps640, mustHex("6742c01eda0507e4"), {0x67}, {0x67, 0x64, 0, 0x1f, 0xff, 0xff}}
	ascSeeds = [][]byte{asc44mono, asc48stereo, asc48s960, {0x2b, 0x92, 0x08, 0x00}, {0x17, 0xff, 0xff, 0xf8, 0}}
)

// FuzzParseOpusHead: hostile OpusHead never yields an impossible
// configuration and round-trips through the track constructor.
func FuzzParseOpusHead(f *testing.F) {
	for _, c := range opusHeadCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseOpusHead(b)
		if err != nil {
			return
		}
		if c.ChannelCount < 1 || c.ChannelCount > 255 || c.PreSkip < 0 || c.PreSkip > 65535 ||
			(c.MappingFamily != 0 && len(c.ChannelMapping) != c.ChannelCount) {
			t.Fatalf("config %+v", c)
		}
		tr, err := NewOpusTrack(c)
		if err != nil || tr.ClockRate != OpusClockRate || !tr.SameConfig(tr) {
			t.Fatalf("track %+v %v", tr, err)
		}
	})
}

// FuzzNewFLACTrack feeds hostile STREAMINFO.
func FuzzNewFLACTrack(f *testing.F) {
	for _, c := range flacCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := NewFLACTrack(b)
		if err != nil {
			return
		}
		if tr.ClockRate <= 0 || tr.ChannelCount < 1 || tr.ChannelCount > 8 {
			t.Fatalf("track %+v", tr)
		}
	})
}

// FuzzNewAV1Track feeds hostile sequence header OBUs (and so mediacommon's
// sequence header parser).
func FuzzNewAV1Track(f *testing.F) {
	for _, c := range av1Cases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := NewAV1Track(b)
		if err != nil {
			return
		}
		if tr.Width <= 0 || tr.Height <= 0 || tr.AV1SequenceHeader[0]&0x06 != 0 || tr.FrameRate < 0 {
			t.Fatalf("track %+v", tr)
		}
	})
}

// FuzzAudioFrames feeds hostile AC-3, E-AC-3 and MPEG audio frames to the
// header parsers and to the frame duration walk.
func FuzzAudioFrames(f *testing.F) {
	for _, c := range audioFrameCases {
		f.Add(c.frame)
	}
	tracks := []*Track{
		{Codec: CodecAC3, ClockRate: 48000, SampleRate: 48000},
		{Codec: CodecEAC3, ClockRate: 48000, SampleRate: 48000},
		{Codec: CodecMP3, ClockRate: 44100, SampleRate: 44100},
		{Codec: CodecOpus, ClockRate: 48000},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, size, err := ParseAC3Frame(b); err == nil {
			if size <= 0 || c.SampleRate() <= 0 || c.ChannelCount() < 1 || c.ChannelCount() > 6 {
				t.Fatalf("AC-3 %+v size %d", c, size)
			}
		}
		if c, size, err := ParseEAC3Frame(b); err == nil {
			if size <= 0 || c.Blocks <= 0 || c.SampleRate <= 0 {
				t.Fatalf("E-AC-3 %+v size %d", c, size)
			}
		}
		if c, size, samples, err := ParseMPEGAudioFrame(b); err == nil {
			if size <= 0 || samples <= 0 || c.SampleRate <= 0 {
				t.Fatalf("MPEG audio %+v size %d samples %d", c, size, samples)
			}
		}
		for _, tr := range tracks {
			if n := frameSamples(tr, b); n < 0 || n > int64(maxFramesPerMessage)*6*256 {
				t.Fatalf("%v: %d samples", tr.Codec, n)
			}
		}
	})
}

// FuzzNewH264Track feeds hostile SPS to the track constructor (and so to
// mediacommon's SPS parser): errors are fine, panics and nonsense are not.
func FuzzNewH264Track(f *testing.F) {
	for _, s := range spsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sps []byte) {
		tr, err := NewH264Track([][]byte{sps}, [][]byte{ppsX})
		if err != nil {
			return
		}
		if tr.Width <= 0 || tr.Height <= 0 || tr.FrameRate < 0 || tr.FrameRate > maxFrameRate {
			t.Fatalf("track %+v", tr)
		}
	})
}

// FuzzNewAACTrack does the same for AudioSpecificConfig.
func FuzzNewAACTrack(f *testing.F) {
	for _, s := range ascSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, asc []byte) {
		tr, err := NewAACTrack(asc)
		if err != nil {
			return
		}
		if tr.ClockRate <= 0 || tr.ChannelCount < 0 || tr.ChannelCount > 8 {
			t.Fatalf("track %+v", tr)
		}
		r := NewRemuxer(discardSink{}, discardLogger())
		if err := r.SetTrack(tr); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := r.WriteAudio(0, uint32(i*20), []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("GEN_FUZZ_SEEDS") == "" {
		t.Skip("set GEN_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzz string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzNewH264Track", spsSeeds)
	write("FuzzNewAACTrack", ascSeeds)
	var seeds [][]byte
	for _, c := range opusHeadCases {
		seeds = append(seeds, c.in)
	}
	write("FuzzParseOpusHead", seeds)
	seeds = nil
	for _, c := range flacCases {
		seeds = append(seeds, c.in)
	}
	write("FuzzNewFLACTrack", seeds)
	seeds = nil
	for _, c := range av1Cases {
		seeds = append(seeds, c.in)
	}
	write("FuzzNewAV1Track", seeds)
	seeds = nil
	for _, c := range audioFrameCases {
		seeds = append(seeds, c.frame)
	}
	write("FuzzAudioFrames", seeds)
}
