package flv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/remux"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and run with every
// `go test`; `GEN_FUZZ_SEEDS=1 go test -run TestGenerateFuzzSeeds` rewrites
// them from the case tables (and from an ffmpeg recording when available).

func FuzzParseAVCConfig(f *testing.F) {
	for _, c := range avcConfigCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err != nil {
			return
		}
		if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
			t.Fatalf("length size %d", c.LengthSize)
		}
		total := 0
		for _, s := range append(c.SPS, c.PPS...) {
			if len(s) == 0 {
				t.Fatal("empty parameter set")
			}
			total += len(s) + 2
		}
		if total > len(b) {
			t.Fatalf("parameter sets (%d bytes) larger than the record (%d)", total, len(b))
		}
	})
}

func FuzzParseHEVCConfig(f *testing.F) {
	f.Add(hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))
	f.Add(hevcRecord(2, hevcVPS, hevcSPS, hevcPPS))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseHEVCConfig(b)
		if err != nil {
			return
		}
		if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
			t.Fatalf("length size %d", c.LengthSize)
		}
	})
}

func FuzzSplitNALUs(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c.in, byte(c.ls))
	}
	f.Fuzz(func(t *testing.T, b []byte, ls byte) {
		nalus, err := SplitNALUs(nil, b, int(ls))
		if err != nil {
			return
		}
		if len(nalus) > MaxNALUs {
			t.Fatalf("%d NAL units", len(nalus))
		}
		total := 0
		for _, n := range nalus {
			if len(n) == 0 || cap(n) != len(n) {
				t.Fatalf("NAL unit len %d cap %d", len(n), cap(n))
			}
			total += len(n) + int(ls)
		}
		if total > len(b) {
			t.Fatalf("NAL units (%d bytes) larger than the input (%d)", total, len(b))
		}
	})
}

// fuzzMessage is one message in the FuzzDemuxer input encoding:
// kind (bit 0: audio), signed 16-bit timestamp delta, 16-bit length, body.
const fuzzMessageHeader = 5

func encodeMessages(msgs ...fuzzMsg) []byte {
	var b []byte
	var prev uint32
	for _, m := range msgs {
		b = append(b, m.kind)
		b = binary.BigEndian.AppendUint16(b, uint16(int16(m.ts-prev)))
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.body)))
		b = append(b, m.body...)
		prev = m.ts
	}
	return b
}

type fuzzMsg struct {
	kind byte
	ts   uint32
	body []byte
}

func demuxerSeeds() [][]byte {
	return [][]byte{
		encodeMessages(
			fuzzMsg{0, 0, videoTag(1, 7, 0, 0, x264Record)},
			fuzzMsg{1, 0, aacTag(0, asc44mono)},
			fuzzMsg{0, 0, videoTag(1, 7, 1, 67, lengthPrefixed(4, aud, sps320, ppsX, idrNAL))},
			fuzzMsg{1, 23, aacTag(1, []byte{0x21, 1})},
			fuzzMsg{0, 33, videoTag(2, 7, 1, -33, lengthPrefixed(4, pNAL))},
			fuzzMsg{0, 66, videoTag(1, 7, 1, 0, lengthPrefixed(4, sps640, ppsX, idrNAL))},
			fuzzMsg{1, 46, aacTag(1, adts(4, 1, []byte{0x21, 2}))},
		),
		encodeMessages(
			fuzzMsg{0, 0, videoTag(1, 12, 0, 0, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))},
			fuzzMsg{0, 0, videoTag(1, 12, 1, 0, lengthPrefixed(4, hevcVPS, hevcSPS, hevcPPS, []byte{0x26, 1, 0xaf}))},
			fuzzMsg{1, 0, aacTag(0, asc48stereo)},
			fuzzMsg{1, 20, aacTag(1, []byte{0x21})},
		),
		encodeMessages(
			fuzzMsg{0, 0xfffffff0, videoTag(1, 7, 0, 0, avcRecord(1, [][]byte{sps320}, [][]byte{ppsX}, nil))},
			fuzzMsg{0, 0xfffffff0, videoTag(1, 7, 1, 0, lengthPrefixed(1, idrNAL))},
			fuzzMsg{0, 0x10, videoTag(2, 7, 1, 0, lengthPrefixed(1, pNAL))},
			fuzzMsg{0, 0x5, videoTag(2, 7, 1, 0, lengthPrefixed(1, pNAL))},
		),
		encodeMessages(fuzzMsg{0, 0, []byte{0x90, 'h', 'v', 'c', '1'}}, fuzzMsg{1, 0, []byte{0x2f, 1}}),
	}
}

func FuzzDemuxer(f *testing.F) {
	for _, s := range demuxerSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sink := newRecSink(t) // checks the Sink contract on every sample
		r := remux.NewRemuxer(sink, zerolog.Nop())
		d := NewDemuxer(r, zerolog.Nop())
		var ts uint32
		for len(in) >= fuzzMessageHeader {
			kind := in[0]
			ts += uint32(int32(int16(binary.BigEndian.Uint16(in[1:]))))
			n := int(binary.BigEndian.Uint16(in[3:]))
			in = in[fuzzMessageHeader:]
			n = min(n, len(in))
			// A private copy: the demuxer must not depend on the body
			// outliving the call, so scribble on it afterwards.
			body := bytes.Clone(in[:n])
			in = in[n:]
			var err error
			if kind&1 == 0 {
				err = d.Video(ts, body)
			} else {
				err = d.Audio(ts, body)
			}
			if err != nil {
				t.Fatalf("error with a healthy sink: %v", err)
			}
			for i := range body {
				body[i] = 0xAA
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGenerateFuzzSeeds rewrites testdata/fuzz from the seeds above.
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("GEN_FUZZ_SEEDS") == "" {
		t.Skip("set GEN_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzz, name string, args ...any) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case byte:
				fmt.Fprintf(&b, "byte(%q)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range avcConfigCases {
		write("FuzzParseAVCConfig", fmt.Sprintf("seed-%02d", i), c.in)
	}
	write("FuzzParseHEVCConfig", "seed-00", hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))
	write("FuzzParseHEVCConfig", "seed-01", hevcRecord(1, hevcVPS, hevcSPS, hevcPPS))
	for i, c := range splitCases {
		write("FuzzSplitNALUs", fmt.Sprintf("seed-%02d", i), c.in, byte(c.ls))
	}
	for i, s := range demuxerSeeds() {
		write("FuzzDemuxer", fmt.Sprintf("seed-%02d", i), s)
	}
	if msgs := recordedMessages(t, 10); msgs != nil {
		write("FuzzDemuxer", "seed-ffmpeg", encodeMessages(msgs...))
	}
}
