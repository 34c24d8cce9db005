package amf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files from the case tables")

// b concatenates byte slices and strings.
func b(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch p := p.(type) {
		case []byte:
			out = append(out, p...)
		case string:
			out = append(out, p...)
		case int:
			out = append(out, byte(p))
		default:
			panic(fmt.Sprintf("b: %T", p))
		}
	}
	return out
}

// str16 is a UTF-8 string with a 16-bit length, as in property names.
func str16(s string) []byte { return b(len(s)>>8, len(s)&0xff, s) }

var longString = strings.Repeat("x", 70000)

// cases drives Decode, Append and the fuzz seeds. value is what decoding
// bytes gives; encode (when set) is the Go value whose encoding is bytes,
// for types that decode to another type; decodeOnly marks non-canonical
// encodings.
var cases = []struct {
	name       string
	bytes      []byte
	value      any
	encode     any
	decodeOnly bool
}{
	{"number zero", b(0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0, nil, false},
	{"number", b(0, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 1.5, nil, false},
	{"number from int", b(0, 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0), 1000.0, 1000, false},
	{"true", b(1, 1), true, nil, false},
	{"false", b(1, 0), false, nil, false},
	{"true as 2", b(1, 2), true, nil, true},
	{"empty string", b(2, 0, 0), "", nil, false},
	{"string", b(2, str16("connect")), "connect", nil, false},
	{"utf8 string", b(2, str16("héllo")), "héllo", nil, false},
	{"long string", b(0x0c, 0, 1, 0x11, 0x70, longString), longString, nil, false},
	{"short long string", b(0x0c, 0, 0, 0, 2, "hi"), "hi", nil, true},
	{"null", b(5), nil, nil, false},
	{"undefined", b(6), Undefined{}, nil, false},
	{"unsupported", b(0x0d), Unsupported{}, nil, false},
	{"xml", b(0x0f, 0, 0, 0, 4, "<a/>"), XMLDocument("<a/>"), nil, false},
	{"empty object", b(3, 0, 0, 9), Object{}, nil, false},
	{
		"object",
		b(3, str16("app"), 2, str16("live"), str16("objectEncoding"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9),
		Object{{"app", "live"}, {"objectEncoding", 0.0}}, nil, false,
	},
	{
		"object from map",
		b(3, str16("a"), 1, 1, str16("b"), 5, 0, 0, 9),
		Object{{"a", true}, {"b", nil}}, map[string]any{"b": nil, "a": true}, false,
	},
	{
		"nested object",
		b(3, str16("o"), 3, str16("p"), 1, 1, 0, 0, 9, 0, 0, 9),
		Object{{"o", Object{{"p", true}}}}, nil, false,
	},
	{
		"ecma array",
		b(8, 0, 0, 0, 2, str16("width"), 0, 0x40, 0x94, 0, 0, 0, 0, 0, 0, str16("stereo"), 1, 1, 0, 0, 9),
		Object{{"width", 1280.0}, {"stereo", true}},
		ECMAArray{{"width", 1280.0}, {"stereo", true}}, false,
	},
	{
		"ecma array without end",
		b(8, 0, 0, 0, 1, str16("a"), 1, 0),
		Object{{"a", false}}, nil, true,
	},
	{
		"ecma array wrong count",
		b(8, 0, 0, 0, 9, str16("a"), 1, 0, 0, 0, 9),
		Object{{"a", false}}, nil, true,
	},
	{"strict array", b(0x0a, 0, 0, 0, 3, 5, 1, 1, 2, str16("a")), []any{nil, true, "a"}, nil, false},
	{"empty strict array", b(0x0a, 0, 0, 0, 0), []any{}, nil, false},
	{
		"date",
		b(0x0b, 0x42, 0x76, 0xf5, 0xe6, 0x6e, 0x80, 0, 0, 0, 0),
		time.UnixMilli(1577836800000).UTC(), nil, false,
	},
	{
		"typed object",
		b(0x10, str16("Point"), str16("x"), 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0, 9),
		TypedObject{Class: "Point", Properties: Object{{"x", 1.0}}}, nil, false,
	},
	{
		"reference",
		// [ {a: true}, ref 1 ]: the array is complex value 0, the object 1.
		b(0x0a, 0, 0, 0, 2, 3, str16("a"), 1, 1, 0, 0, 9, 7, 0, 1),
		[]any{Object{{"a", true}}, Object{{"a", true}}}, nil, true,
	},
}

func TestDecode(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, n, err := Decode(c.bytes)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(c.bytes) {
				t.Fatalf("consumed %d of %d bytes", n, len(c.bytes))
			}
			if !reflect.DeepEqual(v, c.value) {
				t.Fatalf("got %#v, want %#v", v, c.value)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	for _, c := range cases {
		if c.decodeOnly {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			v := c.value
			if c.encode != nil {
				v = c.encode
			}
			got, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.bytes) {
				t.Fatalf("got  % x\nwant % x", got, c.bytes)
			}
		})
	}
}

// TestDecodeAll decodes a whole connect command.
func TestDecodeAll(t *testing.T) {
	in, err := Marshal("connect", 1, Object{{"app", "live"}, {"tcUrl", "rtmp://h/live"}})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := DecodeAll(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"connect", 1.0, Object{{"app", "live"}, {"tcUrl", "rtmp://h/live"}}}
	if !reflect.DeepEqual(vs, want) {
		t.Fatalf("got %#v", vs)
	}
	o := vs[2].(Object)
	if s, ok := o.GetString("tcUrl"); !ok || s != "rtmp://h/live" {
		t.Fatal("GetString")
	}
	if _, ok := o.GetNumber("app"); ok {
		t.Fatal("GetNumber on a string")
	}
	if _, ok := o.Get("missing"); ok {
		t.Fatal("Get missing")
	}
	if got := StripAMF3Prefix(append([]byte{0}, in...)); !bytes.Equal(got, in) {
		t.Fatal("StripAMF3Prefix")
	}
}

// nest returns n strict arrays nested in each other.
func nest(n int) []byte {
	var out []byte
	for range n {
		out = append(out, 0x0a, 0, 0, 0, 1)
	}
	return append(out, 5)
}

// refBomb builds a strict array whose element i+1 is a strict array holding
// two references to element i: tiny on the wire, 2^levels values expanded.
func refBomb(levels int) []byte {
	out := b(0x0a, 0, 0, 0, levels+1, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for i := range levels {
		out = append(out, 0x0a, 0, 0, 0, 2, 7, 0, byte(i+1), 7, 0, byte(i+1))
	}
	return out
}

var errorCases = []struct {
	name  string
	bytes []byte
	want  error
}{
	{"empty", nil, ErrShortBuffer},
	{"short number", b(0, 1, 2, 3), ErrShortBuffer},
	{"short string", b(2, 0, 5, "ab"), ErrShortBuffer},
	{"huge long string", b(0x0c, 0xff, 0xff, 0xff, 0xff, "ab"), ErrShortBuffer},
	{"huge strict array", b(0x0a, 0xff, 0xff, 0xff, 0xff, 5), ErrShortBuffer},
	{"object end alone", b(9), ErrUnknownMarker},
	{"movieclip", b(4), ErrUnknownMarker},
	{"recordset", b(0x0e), ErrUnknownMarker},
	{"unknown marker", b(0x12), ErrUnknownMarker},
	{"amf3", b(0x11, 0x01), ErrAMF3},
	{"too deep", nest(DefaultMaxDepth + 1), ErrTooDeep},
	{"reference bomb", refBomb(40), ErrTooLarge},
	{"bad reference", b(7, 0, 0), ErrBadReference},
	{"cyclic reference", b(3, str16("self"), 7, 0, 0, 0, 0, 9), ErrBadReference},
	{"empty key without end", b(3, 0, 0, 5), ErrMissingObjectEnd},
	{"unterminated object", b(3, str16("a"), 5), ErrShortBuffer},
	{"nan date", b(0x0b, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0, 0), ErrInvalidDate},
	{"huge date", b(0x0b, 0x7f, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0), ErrInvalidDate},
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := Decode(c.bytes); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, _, err := (Decoder{MaxDepth: 40}).Decode(nest(DefaultMaxDepth + 1)); err != nil {
		t.Fatalf("MaxDepth 40: %v", err)
	}
	if _, _, err := (Decoder{MaxBytes: 3}).Decode(b(2, str16("abcd"))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxBytes: %v", err)
	}
	if _, _, err := (Decoder{MaxElements: 2}).Decode(b(0x0a, 0, 0, 0, 2, 5, 5)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxElements: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	loop := []any{nil}
	loop[0] = loop
	for _, c := range []struct {
		name string
		v    any
		want error
	}{
		{"struct", struct{}{}, ErrUnsupportedType},
		{"empty key", Object{{"", 1}}, ErrEmptyKey},
		{"long key", Object{{strings.Repeat("k", 70000), 1}}, ErrStringTooLong},
		{"cycle", loop, ErrTooDeep},
	} {
		if _, err := Marshal(c.v); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzDecode decodes arbitrary bytes; whatever decodes must encode, and
// encoding is stable: decode(encode(v)) encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add(c.bytes)
	}
	for _, c := range errorCases {
		f.Add(c.bytes)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		vs, err := DecodeAll(in)
		if err != nil {
			return
		}
		enc, err := Marshal(vs...)
		if err != nil {
			t.Fatalf("decoded values do not encode: %v", err)
		}
		vs2, err := DecodeAll(enc)
		if err != nil {
			t.Fatalf("encoding does not decode: %v", err)
		}
		enc2, err := Marshal(vs2...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding:\n% x\n% x", enc, enc2)
		}
	})
}

// TestWriteFuzzCorpus writes the case tables to testdata/fuzz/FuzzDecode
// with -update-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, in []byte) {
		name = strings.ReplaceAll(name, " ", "_")
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		if len(c.bytes) < 1000 {
			write(c.name, c.bytes)
		}
	}
	for _, c := range errorCases {
		write("error_"+c.name, c.bytes)
	}
}
