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
}
