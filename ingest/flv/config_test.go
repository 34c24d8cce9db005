package flv

import (
	"bytes"
	"errors"
	"testing"
)

// avcConfigCases feed TestParseAVCConfig and the FuzzParseAVCConfig seeds.
var avcConfigCases = []struct {
	name    string
	in      []byte
	wantErr error
	ls      int
	nSPS    int
	nPPS    int
}{
	{"x264 with High profile extension", x264Record, nil, 4, 1, 1},
	{"no extension", x264Record[:len(x264Record)-4], nil, 4, 1, 1},
	{"truncated extension", x264Record[:len(x264Record)-2], nil, 4, 1, 1},
	{"1-byte lengths", avcRecord(1, [][]byte{sps320}, [][]byte{ppsX}, nil), nil, 1, 1, 1},
	{"2-byte lengths", avcRecord(2, [][]byte{sps320}, [][]byte{ppsX}, nil), nil, 2, 1, 1},
	{"two SPS two PPS", avcRecord(4, [][]byte{sps320, sps640}, [][]byte{ppsX, {0x68, 0xce}}, nil), nil, 4, 2, 2},
	{"3-byte lengths", avcRecord(3, [][]byte{sps320}, [][]byte{ppsX}, nil), ErrLengthSize, 0, 0, 0},
	{"version 0", append([]byte{0}, x264Record[1:]...), ErrConfigVersion, 0, 0, 0},
	{"empty", nil, ErrTruncated, 0, 0, 0},
	{"header only", x264Record[:6], ErrTruncated, 0, 0, 0},
	{"SPS cut", x264Record[:20], ErrTruncated, 0, 0, 0},
	{"no PPS count", x264Record[:8+25], ErrTruncated, 0, 0, 0},
	{"PPS cut", x264Record[:8+25+1+4], ErrTruncated, 0, 0, 0},
	{"PPS where SPS expected", avcRecord(4, [][]byte{ppsX}, [][]byte{ppsX}, nil), ErrParameterSet, 0, 0, 0},
	{"empty SPS", avcRecord(4, [][]byte{{}}, [][]byte{ppsX}, nil), ErrParameterSet, 0, 0, 0},
	{"no parameter sets", avcRecord(4, nil, nil, nil), nil, 4, 0, 0},
}

func TestParseAVCConfig(t *testing.T) {
	for _, c := range avcConfigCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAVCConfig(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if got.LengthSize != c.ls || len(got.SPS) != c.nSPS || len(got.PPS) != c.nPPS {
				t.Fatalf("got ls %d, %d SPS, %d PPS", got.LengthSize, len(got.SPS), len(got.PPS))
			}
			if c.nSPS > 0 && (!bytes.Equal(got.SPS[0], sps320) || !bytes.Equal(got.PPS[0], ppsX)) {
				t.Errorf("parameter sets %x %x", got.SPS[0], got.PPS[0])
			}
		})
	}
	got, _ := ParseAVCConfig(x264Record)
	if got.Profile != 0x64 || got.Compatibility != 0 || got.Level != 0x0d {
		t.Errorf("profile/compat/level %x %x %x", got.Profile, got.Compatibility, got.Level)
	}
}

func TestParseHEVCConfig(t *testing.T) {
	rec := hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)
	c, err := ParseHEVCConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.LengthSize != 4 || len(c.VPS) != 1 || len(c.SPS) != 1 || len(c.PPS) != 1 ||
		!bytes.Equal(c.SPS[0], hevcSPS) || !bytes.Equal(c.VPS[0], hevcVPS) || !bytes.Equal(c.PPS[0], hevcPPS) {
		t.Fatalf("%+v", c)
	}
	for i := range len(rec) {
		if _, err := ParseHEVCConfig(rec[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	bad := bytes.Clone(rec)
	bad[21] = 0xfe // lengthSizeMinusOne 2
	if _, err := ParseHEVCConfig(bad); !errors.Is(err, ErrLengthSize) {
		t.Errorf("3-byte lengths: %v", err)
	}
	bad = bytes.Clone(rec)
	bad[23] = 0x80 | 33 // array says SPS, holds the VPS
	if _, err := ParseHEVCConfig(bad); !errors.Is(err, ErrParameterSet) {
		t.Errorf("type mismatch: %v", err)
	}
}

var splitCases = []struct {
	name    string
	ls      int
	in      []byte
	want    [][]byte
	wantErr error
}{
	{"4-byte", 4, lengthPrefixed(4, []byte{0x09, 0xf0}, []byte{0x65, 1, 2}), [][]byte{{0x09, 0xf0}, {0x65, 1, 2}}, nil},
	{"2-byte", 2, lengthPrefixed(2, []byte{0x41, 1}, []byte{0x41, 2}), [][]byte{{0x41, 1}, {0x41, 2}}, nil},
	{"1-byte", 1, lengthPrefixed(1, []byte{0x41}, []byte{0x06, 5, 5}), [][]byte{{0x41}, {0x06, 5, 5}}, nil},
	{"zero-length NAL units skipped", 4, lengthPrefixed(4, []byte{}, []byte{0x41}, []byte{}), [][]byte{{0x41}}, nil},
	{"empty", 4, nil, nil, nil},
	{"length past the end", 4, []byte{0, 0, 0, 9, 0x41}, nil, ErrTruncated},
	{"huge length", 4, []byte{0xff, 0xff, 0xff, 0xff, 0x41}, nil, ErrTruncated},
	{"trailing bytes", 4, append(lengthPrefixed(4, []byte{0x41}), 0, 0), nil, ErrTruncated},
	{"3-byte lengths", 3, []byte{0, 0, 1, 0x41}, nil, ErrLengthSize},
	{"too many", 1, bytes.Repeat([]byte{1, 0x41}, MaxNALUs+1), nil, ErrTooManyNALUs},
}

func TestSplitNALUs(t *testing.T) {
	var dst [][]byte
	for _, c := range splitCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SplitNALUs(dst, c.in, c.ls)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %x, want %x", got, c.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], c.want[i]) || cap(got[i]) != len(got[i]) {
					t.Errorf("NAL unit %d = %x (cap %d), want %x", i, got[i], cap(got[i]), c.want[i])
				}
			}
			dst = got
		})
	}
}

func TestSplitNALUsNoAllocs(t *testing.T) {
	au := lengthPrefixed(4, []byte{0x09, 0xf0}, []byte{0x06, 1}, bytes.Repeat([]byte{0x41}, 5000))
	dst, _ := SplitNALUs(nil, au, 4)
	if n := testing.AllocsPerRun(100, func() { dst, _ = SplitNALUs(dst, au, 4) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
