package amf

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// maxEncodeDepth bounds nesting on output; it is above DefaultMaxDepth so
// that anything decoded with the defaults can be encoded again.
const maxEncodeDepth = 2 * DefaultMaxDepth

// Marshal encodes values as consecutive AMF0 values.
func Marshal(vs ...any) ([]byte, error) { return Append(nil, vs...) }

// Append appends the AMF0 encoding of each value to dst.
//
// Supported Go types: nil (null), bool, string (long string past 65535
// bytes), every integer and float type (number), Undefined, Unsupported,
// XMLDocument, Object and map[string]any (object; map keys sorted),
// ECMAArray, TypedObject, []any (strict array) and time.Time (date).
func Append(dst []byte, vs ...any) ([]byte, error) {
	for _, v := range vs {
		var err error
		if dst, err = appendValue(dst, v, 0); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendNumber(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, MarkerNumber), math.Float64bits(f))
}

func appendKey(dst []byte, k string) ([]byte, error) {
	if k == "" {
		return dst, ErrEmptyKey
	}
	if len(k) > math.MaxUint16 {
		return dst, fmt.Errorf("%w: %d bytes", ErrStringTooLong, len(k))
	}
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(k))), k...), nil
}

func appendProperties(dst []byte, o Object, depth int) ([]byte, error) {
	var err error
	for _, p := range o {
		if dst, err = appendKey(dst, p.Key); err != nil {
			return dst, err
		}
		if dst, err = appendValue(dst, p.Value, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, 0, 0, MarkerObjectEnd), nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, MarkerNull), nil
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(dst, MarkerBoolean, b), nil
	case float64:
		return appendNumber(dst, v), nil
	case float32:
		return appendNumber(dst, float64(v)), nil
	case int:
		return appendNumber(dst, float64(v)), nil
	case int8:
		return appendNumber(dst, float64(v)), nil
	case int16:
		return appendNumber(dst, float64(v)), nil
	case int32:
		return appendNumber(dst, float64(v)), nil
	case int64:
		return appendNumber(dst, float64(v)), nil
	case uint:
		return appendNumber(dst, float64(v)), nil
	case uint8:
		return appendNumber(dst, float64(v)), nil
	case uint16:
		return appendNumber(dst, float64(v)), nil
	case uint32:
		return appendNumber(dst, float64(v)), nil
	case uint64:
		return appendNumber(dst, float64(v)), nil
	case string:
		if uint64(len(v)) > math.MaxUint32 {
			return dst, fmt.Errorf("%w: string of %d bytes", ErrStringTooLong, len(v))
		}
		if len(v) > math.MaxUint16 {
			dst = binary.BigEndian.AppendUint32(append(dst, MarkerLongString), uint32(len(v)))
			return append(dst, v...), nil
		}
		dst = binary.BigEndian.AppendUint16(append(dst, MarkerString), uint16(len(v)))
		return append(dst, v...), nil
	case XMLDocument:
		if uint64(len(v)) > math.MaxUint32 {
			return dst, fmt.Errorf("%w: XML document of %d bytes", ErrStringTooLong, len(v))
		}
		dst = binary.BigEndian.AppendUint32(append(dst, MarkerXMLDocument), uint32(len(v)))
		return append(dst, v...), nil
	case Undefined:
		return append(dst, MarkerUndefined), nil
	case Unsupported:
		return append(dst, MarkerUnsupported), nil
	case time.Time:
		dst = appendNumber(dst, float64(v.UnixMilli()))
		dst[len(dst)-9] = MarkerDate
		return append(dst, 0, 0), nil
	}

	depth++
	if depth > maxEncodeDepth {
		return dst, fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxEncodeDepth)
	}
	switch v := v.(type) {
	case Object:
		return appendProperties(append(dst, MarkerObject), v, depth)
	case ECMAArray:
		dst = binary.BigEndian.AppendUint32(append(dst, MarkerECMAArray), uint32(len(v)))
		return appendProperties(dst, Object(v), depth)
	case TypedObject:
		if len(v.Class) > math.MaxUint16 {
			return dst, fmt.Errorf("%w: class name of %d bytes", ErrStringTooLong, len(v.Class))
		}
		dst = binary.BigEndian.AppendUint16(append(dst, MarkerTypedObject), uint16(len(v.Class)))
		return appendProperties(append(dst, v.Class...), v.Properties, depth)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		o := make(Object, 0, len(keys))
		for _, k := range keys {
			o = append(o, Property{Key: k, Value: v[k]})
		}
		return appendProperties(append(dst, MarkerObject), o, depth)
	case []any:
		dst = binary.BigEndian.AppendUint32(append(dst, MarkerStrictArray), uint32(len(v)))
		var err error
		for _, e := range v {
			if dst, err = appendValue(dst, e, depth); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}
