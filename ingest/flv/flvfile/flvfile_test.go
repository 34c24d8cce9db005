package flvfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// buildFLV writes an FLV file: header, PreviousTagSize0, then each tag and
// its PreviousTagSize.
func buildFLV(tags ...Tag) []byte {
	b := []byte{'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0}
	for _, t := range tags {
		n := len(t.Data)
		b = append(b, byte(t.Type), byte(n>>16), byte(n>>8), byte(n),
			byte(t.Timestamp>>16), byte(t.Timestamp>>8), byte(t.Timestamp), byte(t.Timestamp>>24), 0, 0, 0)
		b = append(b, t.Data...)
		b = binary.BigEndian.AppendUint32(b, uint32(n+11))
	}
	return b
}

func amfStr(s string) []byte {
	return append([]byte{amfString, byte(len(s) >> 8), byte(len(s))}, s...)
}

func amfKey(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

func amfNum(f float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{amfNumber}, math.Float64bits(f))
}

func onMetaData() []byte {
	b := amfStr("onMetaData")
	b = append(b, amfECMAArray, 0, 0, 0, 4)
	b = append(append(b, amfKey("width")...), amfNum(320)...)
	b = append(append(b, amfKey("stereo")...), amfBoolean, 1)
	b = append(append(b, amfKey("encoder")...), amfStr("Lavf59.27.100")...)
	b = append(append(b, amfKey("tags")...), amfStrictArray, 0, 0, 0, 2)
	b = append(b, amfNull)
	b = append(b, amfObject)
	b = append(append(b, amfKey("k")...), amfDate, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = append(b, 0, 0, amfObjectEnd)
	return append(b, 0, 0, amfObjectEnd)
}

func TestReader(t *testing.T) {
	want := []Tag{
		{TagScript, 0, onMetaData()},
		{TagVideo, 0, []byte{0x17, 0, 0, 0, 0}},
		{TagAudio, 0x00ffffff, []byte{0xaf, 1, 0x21}},
		{TagVideo, 0x01000000, []byte{0x27, 1, 0, 0, 0}}, // uses TimestampExtended
		{TagAudio, math.MaxUint32, nil},
	}
	file := buildFLV(want...)
	h, tags, err := ReadAll(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 1 || !h.HasAudio || !h.HasVideo {
		t.Errorf("header %+v", h)
	}
	if len(tags) != len(want) {
		t.Fatalf("%d tags", len(tags))
	}
	for i := range want {
		if tags[i].Type != want[i].Type || tags[i].Timestamp != want[i].Timestamp || !bytes.Equal(tags[i].Data, want[i].Data) {
			t.Errorf("tag %d = %v %d %x, want %v %d %x", i, tags[i].Type, tags[i].Timestamp, tags[i].Data,
				want[i].Type, want[i].Timestamp, want[i].Data)
		}
	}
	md, err := Metadata(tags[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if md["width"] != 320.0 || md["stereo"] != true || md["encoder"] != "Lavf59.27.100" {
		t.Errorf("metadata %v", md)
	}
	if a, ok := md["tags"].([]any); !ok || len(a) != 2 || a[0] != nil {
		t.Errorf("strict array %v", md["tags"])
	}

	// Cut anywhere inside a tag: a clear error, never a panic.
	for cut := 13; cut < len(file); cut++ {
		_, _, err := ReadAll(bytes.NewReader(file[:cut]))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
	if _, err := NewReader(bytes.NewReader([]byte("GIF89a..."))); !errors.Is(err, ErrNotFLV) {
		t.Errorf("not FLV: %v", err)
	}
	enc := buildFLV(Tag{TagVideo, 0, []byte{1}})
	enc[13] |= 0x20
	if _, _, err := ReadAll(bytes.NewReader(enc)); !errors.Is(err, ErrEncrypted) {
		t.Errorf("encrypted: %v", err)
	}
}

func TestMetadataSetDataFrame(t *testing.T) {
	b := append(amfStr("@setDataFrame"), onMetaData()...)
	md, err := Metadata(b)
	if err != nil || md["width"] != 320.0 {
		t.Fatalf("%v %v", md, err)
	}
	if _, err := Metadata(amfStr("onCuePoint")); !errors.Is(err, ErrScript) {
		t.Errorf("not metadata: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(buildFLV(Tag{TagScript, 0, onMetaData()}, Tag{TagVideo, 40, []byte{0x17, 1, 0, 0, 0}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for range 1000 {
			tag, err := r.Next()
			if err != nil {
				return
			}
			if tag.Type == TagScript {
				_, _, _ = ParseScript(tag.Data)
			}
		}
	})
}

func FuzzParseScript(f *testing.F) {
	f.Add(onMetaData())
	f.Add(append(amfStr("@setDataFrame"), onMetaData()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseScript(b)
		_, _ = Metadata(b)
	})
}

// TestGenerateFuzzSeeds rewrites testdata/fuzz from the seeds above
// (GEN_FUZZ_SEEDS=1 go test -run TestGenerateFuzzSeeds).
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("GEN_FUZZ_SEEDS") == "" {
		t.Skip("set GEN_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzz, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzReader", "seed-00", buildFLV(Tag{TagScript, 0, onMetaData()}, Tag{TagVideo, 40, []byte{0x17, 1, 0, 0, 0}}))
	write("FuzzReader", "seed-01", buildFLV(Tag{TagAudio, math.MaxUint32, []byte{0xaf, 0, 0x12, 0x10}}))
	write("FuzzParseScript", "seed-00", onMetaData())
	write("FuzzParseScript", "seed-01", append(amfStr("@setDataFrame"), onMetaData()...))
}
