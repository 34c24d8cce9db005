package amf

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Decoder defaults.
const (
	// DefaultMaxDepth bounds nesting of objects and arrays.
	DefaultMaxDepth = 32
	// DefaultMaxElements bounds the number of values decoded from one input,
	// counting a referenced value's contents each time it is referenced.
	DefaultMaxElements = 1 << 16
	// DefaultMaxBytes bounds the string bytes decoded from one input,
	// counting referenced strings each time they are referenced.
	DefaultMaxBytes = 16 << 20
)

// maxTimeValue is the largest ECMAScript time value in milliseconds
// (ECMA-262 21.4.1.1: "exactly –100,000,000 days to 100,000,000 days").
const maxTimeValue = 8.64e15

// Decoder decodes AMF0 with limits. The zero value uses the defaults.
type Decoder struct {
	// MaxDepth bounds nesting. Default DefaultMaxDepth.
	MaxDepth int
	// MaxElements bounds the number of values. Default DefaultMaxElements.
	MaxElements int
	// MaxBytes bounds string bytes. Default DefaultMaxBytes.
	MaxBytes int
}

// Decode decodes one AMF0 value from b with the default limits and returns
// it with the number of bytes consumed.
func Decode(b []byte) (any, int, error) { return Decoder{}.Decode(b) }

// DecodeAll decodes AMF0 values until b is exhausted, with the default
// limits.
func DecodeAll(b []byte) ([]any, error) { return Decoder{}.DecodeAll(b) }

// Decode decodes one AMF0 value from b and returns it with the number of
// bytes consumed.
func (d Decoder) Decode(b []byte) (any, int, error) {
	s := d.state(b)
	v, err := s.value()
	if err != nil {
		return nil, s.pos, err
	}
	return v, s.pos, nil
}

// DecodeAll decodes AMF0 values until b is exhausted. The limits apply to
// all values together; each top-level value has its own reference table.
func (d Decoder) DecodeAll(b []byte) ([]any, error) {
	s := d.state(b)
	var vs []any
	for s.pos < len(s.b) {
		s.refs = s.refs[:0]
		v, err := s.value()
		if err != nil {
			return vs, fmt.Errorf("value %d at byte %d: %w", len(vs), s.pos, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func (d Decoder) state(b []byte) *decodeState {
	s := &decodeState{b: b, maxDepth: d.MaxDepth, maxElems: d.MaxElements, maxBytes: d.MaxBytes}
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
	if s.maxElems <= 0 {
		s.maxElems = DefaultMaxElements
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	return s
}

// refEntry is a complex value in the reference table (AMF0 spec 2.9) with
// what it cost to decode, charged again on every reference.
type refEntry struct {
	v            any
	elems, bytes int
	done         bool
}

type decodeState struct {
	b        []byte
	pos      int
	depth    int
	elems    int
	bytes    int
	refs     []refEntry
	maxDepth int
	maxElems int
	maxBytes int
}

func (s *decodeState) need(n int) error {
	if n < 0 || len(s.b)-s.pos < n {
		return fmt.Errorf("%w: need %d bytes at %d, have %d", ErrShortBuffer, n, s.pos, len(s.b)-s.pos)
	}
	return nil
}

func (s *decodeState) charge(elems, bytes int) error {
	s.elems += elems
	s.bytes += bytes
	if s.elems > s.maxElems || s.bytes > s.maxBytes {
		return fmt.Errorf("%w: %d values, %d string bytes (limits %d, %d)",
			ErrTooLarge, s.elems, s.bytes, s.maxElems, s.maxBytes)
	}
	return nil
}

func (s *decodeState) u16() (int, error) {
	if err := s.need(2); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint16(s.b[s.pos:])
	s.pos += 2
	return int(v), nil
}

func (s *decodeState) u32() (uint32, error) {
	if err := s.need(4); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(s.b[s.pos:])
	s.pos += 4
	return v, nil
}

func (s *decodeState) f64() (float64, error) {
	if err := s.need(8); err != nil {
		return 0, err
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(s.b[s.pos:]))
	s.pos += 8
	return v, nil
}

// str reads n bytes as a string.
func (s *decodeState) str(n int) (string, error) {
	if err := s.need(n); err != nil {
		return "", err
	}
	if err := s.charge(0, n); err != nil {
		return "", err
	}
	v := string(s.b[s.pos : s.pos+n])
	s.pos += n
	return v, nil
}

// utf8 reads a UTF-8 string with a 16-bit length (AMF0 spec 1.3.1).
func (s *decodeState) utf8() (string, error) {
	n, err := s.u16()
	if err != nil {
		return "", err
	}
	return s.str(n)
}

// utf8Long reads a UTF-8 string with a 32-bit length (AMF0 spec 1.3.1).
func (s *decodeState) utf8Long() (string, error) {
	n, err := s.u32()
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(len(s.b)-s.pos) {
		return "", fmt.Errorf("%w: long string of %d bytes at %d, have %d", ErrShortBuffer, n, s.pos, len(s.b)-s.pos)
	}
	return s.str(int(n))
}

func (s *decodeState) value() (any, error) {
	if err := s.need(1); err != nil {
		return nil, err
	}
	m := s.b[s.pos]
	s.pos++
	if err := s.charge(1, 0); err != nil {
		return nil, err
	}
	switch m {
	case MarkerNumber: // AMF0 spec 2.2
		return s.f64()
	case MarkerBoolean: // 2.3
		if err := s.need(1); err != nil {
			return nil, err
		}
		s.pos++
		return s.b[s.pos-1] != 0, nil
	case MarkerString: // 2.4
		return s.utf8()
	case MarkerLongString: // 2.14
		return s.utf8Long()
	case MarkerXMLDocument: // 2.17
		v, err := s.utf8Long()
		return XMLDocument(v), err
	case MarkerNull: // 2.7
		return nil, nil
	case MarkerUndefined: // 2.8
		return Undefined{}, nil
	case MarkerUnsupported: // 2.15
		return Unsupported{}, nil
	case MarkerDate: // 2.13
		ms, err := s.f64()
		if err != nil {
			return nil, err
		}
		// "time-zone = S16 ; reserved, not supported should be set to 0x0000"
		if _, err := s.u16(); err != nil {
			return nil, err
		}
		if math.IsNaN(ms) || math.Abs(ms) > maxTimeValue {
			return nil, fmt.Errorf("%w: %v ms", ErrInvalidDate, ms)
		}
		return time.UnixMilli(int64(ms)).UTC(), nil
	case MarkerReference: // 2.9
		idx, err := s.u16()
		if err != nil {
			return nil, err
		}
		if idx >= len(s.refs) || !s.refs[idx].done {
			return nil, fmt.Errorf("%w: index %d of %d", ErrBadReference, idx, len(s.refs))
		}
		r := s.refs[idx]
		if err := s.charge(r.elems, r.bytes); err != nil {
			return nil, err
		}
		return r.v, nil
	case MarkerObject, MarkerECMAArray, MarkerStrictArray, MarkerTypedObject:
		return s.complex(m)
	case MarkerAVMPlus:
		return nil, ErrAMF3
	}
	return nil, fmt.Errorf("%w: 0x%02x at byte %d", ErrUnknownMarker, m, s.pos-1)
}

// complex decodes the values that enter the reference table.
func (s *decodeState) complex(m byte) (any, error) {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > s.maxDepth {
		return nil, fmt.Errorf("%w: more than %d levels", ErrTooDeep, s.maxDepth)
	}
	// AMF0 spec 2.9: complex values are numbered in the order they appear,
	// which is the order they start.
	idx := len(s.refs)
	s.refs = append(s.refs, refEntry{})
	elems, bytes := s.elems, s.bytes
	var v any
	var err error
	switch m {
	case MarkerObject: // 2.5
		v, err = s.properties(false)
	case MarkerECMAArray: // 2.10: associative-count (a hint), then properties
		if _, err = s.u32(); err == nil {
			v, err = s.properties(true)
		}
	case MarkerTypedObject: // 2.18: class-name, then properties
		var class string
		if class, err = s.utf8(); err == nil {
			var props Object
			props, err = s.properties(false)
			v = TypedObject{Class: class, Properties: props}
		}
	case MarkerStrictArray: // 2.12: array-count, then values
		v, err = s.strictArray()
	}
	if err != nil {
		return nil, err
	}
	s.refs[idx] = refEntry{v: v, elems: s.elems - elems, bytes: s.bytes - bytes, done: true}
	return v, nil
}

// properties reads name/value pairs up to the object end (AMF0 spec 2.5:
// "object-property = (UTF-8 value-type) | (UTF-8-empty object-end-marker)").
// ECMA arrays may also end with the data: some encoders omit their end
// marker.
func (s *decodeState) properties(ecma bool) (Object, error) {
	o := Object{}
	for {
		if ecma && s.pos == len(s.b) {
			return o, nil
		}
		key, err := s.utf8()
		if err != nil {
			return nil, err
		}
		if key == "" {
			if ecma && s.pos == len(s.b) {
				return o, nil
			}
			if err := s.need(1); err != nil {
				return nil, err
			}
			if s.b[s.pos] != MarkerObjectEnd {
				return nil, fmt.Errorf("%w: marker 0x%02x at byte %d", ErrMissingObjectEnd, s.b[s.pos], s.pos)
			}
			s.pos++
			return o, nil
		}
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		o = append(o, Property{Key: key, Value: v})
	}
}

func (s *decodeState) strictArray() ([]any, error) {
	n, err := s.u32()
	if err != nil {
		return nil, err
	}
	// Every value takes at least its marker byte.
	if uint64(n) > uint64(len(s.b)-s.pos) {
		return nil, fmt.Errorf("%w: strict array of %d values at %d, %d bytes left", ErrShortBuffer, n, s.pos, len(s.b)-s.pos)
	}
	a := make([]any, 0, n)
	for range n {
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	return a, nil
}
