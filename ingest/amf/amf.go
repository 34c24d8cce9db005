package amf

// Type markers (AMF0 spec 2.1).
const (
	MarkerNumber      = 0x00
	MarkerBoolean     = 0x01
	MarkerString      = 0x02
	MarkerObject      = 0x03
	MarkerMovieClip   = 0x04 // reserved, not supported
	MarkerNull        = 0x05
	MarkerUndefined   = 0x06
	MarkerReference   = 0x07
	MarkerECMAArray   = 0x08
	MarkerObjectEnd   = 0x09
	MarkerStrictArray = 0x0A
	MarkerDate        = 0x0B
	MarkerLongString  = 0x0C
	MarkerUnsupported = 0x0D
	MarkerRecordSet   = 0x0E // reserved, not supported
	MarkerXMLDocument = 0x0F
	MarkerTypedObject = 0x10
	MarkerAVMPlus     = 0x11 // switch to AMF3
)

// Undefined is the AMF0 undefined value.
type Undefined struct{}

// Unsupported is the AMF0 unsupported value.
type Unsupported struct{}

// XMLDocument is an AMF0 XML document (a long string of XML).
type XMLDocument string

// Property is one name/value pair of an Object.
type Property struct {
	Key   string
	Value any
}

// Object is an anonymous AMF0 object or an ECMA array: its properties in wire
// order. Keys are not required to be unique; Get returns the first.
type Object []Property

// ECMAArray is an Object encoded as an ECMA array (marker 0x08), the form
// onMetaData usually takes. Decoding yields a plain Object.
type ECMAArray Object

// TypedObject is an AMF0 typed object: a class name and properties.
type TypedObject struct {
	Class      string
	Properties Object
}

// Get returns the value of the first property named key.
func (o Object) Get(key string) (any, bool) {
	for _, p := range o {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// GetString returns the string value of key.
func (o Object) GetString(key string) (string, bool) {
	v, _ := o.Get(key)
	s, ok := v.(string)
	return s, ok
}

// GetNumber returns the number value of key.
func (o Object) GetNumber(key string) (float64, bool) {
	v, _ := o.Get(key)
	f, ok := v.(float64)
	return f, ok
}

// GetBool returns the boolean value of key.
func (o Object) GetBool(key string) (bool, bool) {
	v, _ := o.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// GetObject returns the Object value of key.
func (o Object) GetObject(key string) (Object, bool) {
	v, _ := o.Get(key)
	ob, ok := v.(Object)
	return ob, ok
}

// StripAMF3Prefix returns the AMF0 values of an AMF3 command or data message
// (RTMP types 17 and 15): RTMP spec 7.1.1 and 7.1.2 carry them behind a
// one-byte format selector, 0 for AMF0 encoding.
func StripAMF3Prefix(b []byte) []byte {
	if len(b) > 0 && b[0] == 0 {
		return b[1:]
	}
	return b
}
