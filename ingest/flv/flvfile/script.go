package flvfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrScript: a script data tag that does not decode.
var ErrScript = errors.New("flvfile: invalid script data")

// AMF0 type markers (AMF0 specification §2.1) understood by ParseScript.
const (
	amfNumber      = 0x00
	amfBoolean     = 0x01
	amfString      = 0x02
	amfObject      = 0x03
	amfNull        = 0x05
	amfUndefined   = 0x06
	amfECMAArray   = 0x08
	amfObjectEnd   = 0x09
	amfStrictArray = 0x0a
	amfDate        = 0x0b
	amfLongString  = 0x0c
)

// maxScriptDepth bounds the nesting of objects and arrays.
const maxScriptDepth = 16

// ParseScript decodes a script data tag body (FLV spec E.4.4): an AMF0
// string naming the call (e.g. "onMetaData") followed by its AMF0 value.
// Objects and ECMA arrays become map[string]any, strict arrays []any,
// numbers float64, dates float64 (ms), booleans bool, strings string and
// null/undefined nil. Values after the first are ignored.
func ParseScript(data []byte) (string, any, error) {
	d := scriptDecoder{b: data}
	name, err := d.value(0)
	if err != nil {
		return "", nil, err
	}
	s, ok := name.(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: name is %T, not a string", ErrScript, name)
	}
	if d.p == len(d.b) {
		return s, nil, nil
	}
	v, err := d.value(0)
	return s, v, err
}

// Metadata returns the onMetaData object of a script tag body, with the
// value types the FLV demuxer reads (float64, string, bool).
func Metadata(data []byte) (map[string]any, error) {
	name, v, err := ParseScript(data)
	if err != nil {
		return nil, err
	}
	if name == "@setDataFrame" { // as sent over RTMP: the real name comes next
		d := scriptDecoder{b: data}
		_, _ = d.value(0)
		_, _ = d.value(0)
		if v, err = d.value(0); err != nil {
			return nil, err
		}
		name = "onMetaData"
	}
	m, ok := v.(map[string]any)
	if name != "onMetaData" || !ok {
		return nil, fmt.Errorf("%w: %q carries %T, not onMetaData", ErrScript, name, v)
	}
	return m, nil
}

type scriptDecoder struct {
	b []byte
	p int
}

func (d *scriptDecoder) need(n int) error {
	if len(d.b)-d.p < n {
		return fmt.Errorf("%w: %d bytes needed at offset %d, %d left", ErrScript, n, d.p, len(d.b)-d.p)
	}
	return nil
}

func (d *scriptDecoder) str(lenBytes int) (string, error) {
	if err := d.need(lenBytes); err != nil {
		return "", err
	}
	var n int
	if lenBytes == 2 {
		n = int(binary.BigEndian.Uint16(d.b[d.p:]))
	} else {
		n = int(binary.BigEndian.Uint32(d.b[d.p:]))
	}
	d.p += lenBytes
	if n < 0 {
		return "", fmt.Errorf("%w: string length %d", ErrScript, n)
	}
	if err := d.need(n); err != nil {
		return "", err
	}
	s := string(d.b[d.p : d.p+n])
	d.p += n
	return s, nil
}

func (d *scriptDecoder) value(depth int) (any, error) {
	if depth > maxScriptDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrScript, maxScriptDepth)
	}
	if err := d.need(1); err != nil {
		return nil, err
	}
	marker := d.b[d.p]
	d.p++
	switch marker {
	case amfNumber:
		if err := d.need(8); err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.p:]))
		d.p += 8
		return f, nil
	case amfBoolean:
		if err := d.need(1); err != nil {
			return nil, err
		}
		d.p++
		return d.b[d.p-1] != 0, nil
	case amfString:
		return d.str(2)
	case amfLongString:
		return d.str(4)
	case amfNull, amfUndefined:
		return nil, nil
	case amfDate: // DOUBLE ms + S16 time zone
		if err := d.need(10); err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.p:]))
		d.p += 10
		return f, nil
	case amfECMAArray:
		if err := d.need(4); err != nil { // associative-count, a hint only
			return nil, err
		}
		d.p += 4
		return d.object(depth)
	case amfObject:
		return d.object(depth)
	case amfStrictArray:
		if err := d.need(4); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(d.b[d.p:])
		d.p += 4
		if uint64(n) > uint64(len(d.b)-d.p) { // every value takes at least one byte
			return nil, fmt.Errorf("%w: strict array of %d values in %d bytes", ErrScript, n, len(d.b)-d.p)
		}
		a := make([]any, 0, n)
		for range n {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: unsupported AMF0 marker 0x%02x", ErrScript, marker)
}

// object reads properties until the empty key + object-end marker. A body
// that ends before the marker (some writers omit it) ends the object.
func (d *scriptDecoder) object(depth int) (map[string]any, error) {
	m := map[string]any{}
	for d.p < len(d.b) {
		k, err := d.str(2)
		if err != nil {
			return nil, err
		}
		if k == "" && d.p < len(d.b) && d.b[d.p] == amfObjectEnd {
			d.p++
			return m, nil
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
