package flv

import (
	"fmt"
	"math"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/remux"
)

// metadataDecoder bounds the AMF of an E-RTMP Metadata frame: a colorInfo
// object is three small objects of numbers.
var metadataDecoder = amf.Decoder{MaxDepth: 4, MaxElements: 256, MaxBytes: 4096}

// videoMetadata handles an E-RTMP VideoPacketType.Metadata body: "a series
// of [name, value] pairs. For now the only defined [name, value] pair is
// ["colorInfo", Object]". "Each time a new colorInfo object is received it
// invalidates and replaces the current one. To reset ... send colorInfo
// with a value of Undefined ... or an empty object". The colour
// information joins the track's next configuration; it is logged at Debug.
func (d *Demuxer) videoMetadata(st *videoState, b []byte) {
	ci, found, err := parseVideoMetadata(b)
	if err != nil {
		d.dropMalformed("video", err)
		return
	}
	if !found {
		d.log.Debug().Int("track_id", st.source).Msg("video metadata without colorInfo ignored")
		return
	}
	st.colorInfo = ci
	ev := d.log.Debug().Int("track_id", st.source)
	if ci != nil {
		ev = ev.Int("bit_depth", ci.BitDepth).Int("color_primaries", ci.ColorPrimaries).
			Int("transfer_characteristics", ci.TransferCharacteristics).Int("matrix_coefficients", ci.MatrixCoefficients).
			Float64("max_cll", ci.MaxCLL).Float64("max_fall", ci.MaxFALL).Bool("mastering_display", ci.Mastering != nil)
	}
	ev.Bool("reset", ci == nil).Msg("video colorInfo metadata")
}

// parseVideoMetadata decodes the name/value pairs of a Metadata body and
// returns the last colorInfo (nil for a reset) and whether there was one.
// Values out of their specified ranges are treated as absent.
func parseVideoMetadata(b []byte) (*remux.ColorInfo, bool, error) {
	vs, err := metadataDecoder.DecodeAll(b)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrColorInfo, err)
	}
	if len(vs)%2 != 0 {
		return nil, false, fmt.Errorf("%w: %d values, not name/value pairs", ErrColorInfo, len(vs))
	}
	var (
		ci    *remux.ColorInfo
		found bool
	)
	for i := 0; i < len(vs); i += 2 {
		if name, _ := vs[i].(string); name != "colorInfo" {
			continue
		}
		found = true
		obj, _ := vs[i+1].(amf.Object)
		ci = colorInfoOf(obj)
	}
	return ci, found, nil
}

// colorInfoOf converts a colorInfo object; nil for an empty object or any
// other value (Undefined resets).
func colorInfoOf(o amf.Object) *remux.ColorInfo {
	if len(o) == 0 {
		return nil
	}
	ci := &remux.ColorInfo{ColorPrimaries: -1, TransferCharacteristics: -1, MatrixCoefficients: -1}
	if cc, ok := o.GetObject("colorConfig"); ok {
		// "bitDepth: number, // SHOULD be 8, 10 or 12"; the code points are
		// "enumeration [0-255]".
		ci.BitDepth = int(number(cc, "bitDepth", 1, 16, 0))
		ci.ColorPrimaries = int(number(cc, "colorPrimaries", 0, 255, -1))
		ci.TransferCharacteristics = int(number(cc, "transferCharacteristics", 0, 255, -1))
		ci.MatrixCoefficients = int(number(cc, "matrixCoefficients", 0, 255, -1))
	}
	if cll, ok := o.GetObject("hdrCll"); ok {
		// "maxFall: number, // [0.0001-10000]", "maxCLL: number, // [0.0001-10000]".
		ci.MaxFALL = number(cll, "maxFall", 0.0001, 10000, 0)
		ci.MaxCLL = number(cll, "maxCLL", 0.0001, 10000, 0)
	}
	if mdcv, ok := o.GetObject("hdrMdcv"); ok {
		// "The x coordinate SHALL be in the range [0.0001, 0.7400]. The y
		// coordinate SHALL be in the range [0.0001, 0.8400]";
		// "maxLuminance: number, // [5-10000]", "minLuminance: number, // [0.0001-5]".
		m := remux.MasteringDisplay{
			RedX: number(mdcv, "redX", 0.0001, 0.74, -1), RedY: number(mdcv, "redY", 0.0001, 0.84, -1),
			GreenX: number(mdcv, "greenX", 0.0001, 0.74, -1), GreenY: number(mdcv, "greenY", 0.0001, 0.84, -1),
			BlueX: number(mdcv, "blueX", 0.0001, 0.74, -1), BlueY: number(mdcv, "blueY", 0.0001, 0.84, -1),
			WhitePointX: number(mdcv, "whitePointX", 0.0001, 0.74, -1), WhitePointY: number(mdcv, "whitePointY", 0.0001, 0.84, -1),
			MaxLuminance: number(mdcv, "maxLuminance", 5, 10000, -1), MinLuminance: number(mdcv, "minLuminance", 0.0001, 5, -1),
		}
		if complete(m.RedX, m.RedY, m.GreenX, m.GreenY, m.BlueX, m.BlueY, m.WhitePointX, m.WhitePointY, m.MaxLuminance, m.MinLuminance) {
			ci.Mastering = &m
		}
	}
	return ci
}

// number returns o[key] when it is a number in [lo, hi], else def.
func number(o amf.Object, key string, lo, hi, def float64) float64 {
	v, ok := o.GetNumber(key)
	if !ok || math.IsNaN(v) || v < lo || v > hi {
		return def
	}
	return v
}

func complete(vs ...float64) bool {
	for _, v := range vs {
		if v < 0 {
			return false
		}
	}
	return true
}
