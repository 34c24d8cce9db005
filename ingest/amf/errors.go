package amf

import "errors"

// Errors returned by Decode and Append. They are wrapped with details; match
// them with errors.Is.
var (
	// ErrShortBuffer is returned when the input ends inside a value.
	ErrShortBuffer = errors.New("amf: unexpected end of data")
	// ErrUnknownMarker is returned for a type marker that AMF0 does not
	// define, or that cannot appear where it was found (object end outside
	// an object, reserved movieclip and recordset markers).
	ErrUnknownMarker = errors.New("amf: unknown or misplaced type marker")
	// ErrAMF3 is returned for the avmplus-object marker (0x11): AMF3 values
	// are not supported.
	ErrAMF3 = errors.New("amf: AMF3 values are not supported")
	// ErrTooDeep is returned when values nest deeper than the limit.
	ErrTooDeep = errors.New("amf: nesting too deep")
	// ErrTooLarge is returned when the decoded values, counting shared
	// references each time they appear, exceed the element or size limit.
	ErrTooLarge = errors.New("amf: too many values or too much data")
	// ErrBadReference is returned for a reference to a complex value that
	// does not exist or is still being decoded (a cycle).
	ErrBadReference = errors.New("amf: invalid reference")
	// ErrMissingObjectEnd is returned for an empty property name that is not
	// followed by the object end marker.
	ErrMissingObjectEnd = errors.New("amf: empty property name without object end")
	// ErrInvalidDate is returned for a date outside the ECMAScript time range.
	ErrInvalidDate = errors.New("amf: invalid date")
	// ErrUnsupportedType is returned by Append for a Go value with no AMF0
	// encoding.
	ErrUnsupportedType = errors.New("amf: unsupported Go type")
	// ErrStringTooLong is returned by Append for a property or class name
	// longer than 65535 bytes, or a string longer than 4 GiB.
	ErrStringTooLong = errors.New("amf: string too long")
	// ErrEmptyKey is returned by Append for a property with an empty name,
	// which would read back as the object end.
	ErrEmptyKey = errors.New("amf: empty property name")
)
