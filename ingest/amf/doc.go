// Package amf encodes and decodes AMF0 (Action Message Format 0, Adobe's
// "AMF 0 File Format Specification"), the serialization of RTMP commands and
// data messages.
//
// Decoded values map onto Go types: float64 for numbers, bool, string (both
// string and long string), nil for null, Undefined, Object for anonymous
// objects and ECMA arrays (properties in wire order), TypedObject, []any for
// strict arrays, time.Time for dates, XMLDocument and Unsupported. Decoding
// is bounded in nesting depth, number of values and expanded size, so
// hostile input gives an error instead of a stack overflow or a huge
// allocation.
//
// AMF3 values (the avmplus-object marker) are not decoded. RTMP's AMF3
// command and data messages (types 17 and 15) carry a leading format byte
// and then AMF0 values; StripAMF3Prefix handles that byte.
package amf
