package hls

import (
	"encoding/binary"
	"math"

	"github.com/livegate/gateway/remux"
)

// E-RTMP v2's colorInfo metadata becomes three boxes of the visual sample
// entry, after its decoder configuration box (ISO/IEC 14496-12
// ColourInformationBox, MasteringDisplayColourVolumeBox and
// ContentLightLevelBox; the last two carry the fields of the H.265 / H.274
// mastering display colour volume and content light level SEI messages).

// Box sizes, header included.
const (
	colrNclxSize = boxHeader + 4 + 2 + 2 + 2 + 1 // colour_type, 3 code points, full_range_flag + 7 reserved bits
	mdcvSize     = boxHeader + 3*4 + 4 + 4 + 4   // 3 primaries, white point, max and min luminance
	clliSize     = boxHeader + 2 + 2             // max_content_light_level, max_pic_average_light_level
)

// Units of the mdcv fields (SMPTE ST 2086 as coded in the SEI message):
// chromaticity in increments of 0.00002, luminance in 0.0001 cd/m².
const (
	mdcvChromaUnits    = 50000
	mdcvLuminanceUnits = 10000
	// H.273 §8.1-8.3: code point 2 is "unspecified".
	h273Unspecified = 2
)

// patchColor writes the colour boxes of video track id into init (see patchInit).
func patchColor(init []byte, id uint32, t *remux.Track) []byte {
	boxes := colorBoxes(t)
	if len(boxes) == 0 {
		return init
	}
	return editEntryChildren(init, id, visualEntryFields, func(children []byte) []byte {
		out := make([]byte, 0, len(children)+len(boxes))
		done := false
		eachBox(children, func(typ string, whole []byte) {
			switch typ {
			case "colr", "mdcv", "clli":
				return // ours replace them
			}
			out = append(out, whole...)
			switch typ {
			case "avcC", "hvcC", "av1C", "vpcC":
				out, done = append(out, boxes...), true
			}
		})
		if !done {
			out = append(out, boxes...)
		}
		return out
	})
}

// colorBoxes returns the colr, mdcv and clli boxes that t's ColorInfo
// calls for, nil when it has nothing a box can carry.
func colorBoxes(t *remux.Track) []byte {
	ci := t.ColorInfo
	if ci == nil {
		return nil
	}
	var b []byte
	if ci.ColorPrimaries >= 0 || ci.TransferCharacteristics >= 0 || ci.MatrixCoefficients >= 0 {
		b = appendBoxHeader(b, colrNclxSize, "colr")
		b = append(b, "nclx"...)
		for _, v := range [...]int{ci.ColorPrimaries, ci.TransferCharacteristics, ci.MatrixCoefficients} {
			if v < 0 || v > 255 {
				v = h273Unspecified
			}
			b = binary.BigEndian.AppendUint16(b, uint16(v))
		}
		// colorConfig has no range: limited unless the codec says otherwise.
		var full byte
		if t.Codec == remux.CodecVP9 && t.VP9 != nil && t.VP9.FullRange {
			full = 0x80
		}
		b = append(b, full)
	}
	if m := ci.Mastering; m != nil {
		b = appendBoxHeader(b, mdcvSize, "mdcv")
		// display_primaries[c], c = 0 green, 1 blue, 2 red (the order of
		// SMPTE ST 2086 the SEI message and the box keep).
		for _, v := range [...]float64{m.GreenX, m.GreenY, m.BlueX, m.BlueY, m.RedX, m.RedY, m.WhitePointX, m.WhitePointY} {
			b = binary.BigEndian.AppendUint16(b, uint16(scaled(v, mdcvChromaUnits, mdcvChromaUnits)))
		}
		b = binary.BigEndian.AppendUint32(b, uint32(scaled(m.MaxLuminance, mdcvLuminanceUnits, math.MaxUint32)))
		b = binary.BigEndian.AppendUint32(b, uint32(scaled(m.MinLuminance, mdcvLuminanceUnits, math.MaxUint32)))
	}
	if ci.MaxCLL > 0 || ci.MaxFALL > 0 {
		// Both in cd/m², as E-RTMP's hdrCll gives them.
		b = appendBoxHeader(b, clliSize, "clli")
		b = binary.BigEndian.AppendUint16(b, uint16(scaled(ci.MaxCLL, 1, math.MaxUint16)))
		b = binary.BigEndian.AppendUint16(b, uint16(scaled(ci.MaxFALL, 1, math.MaxUint16)))
	}
	return b
}

// scaled returns v*units rounded, clamped to [0, limit].
func scaled(v, units, limit float64) float64 {
	return math.Max(0, math.Min(limit, math.Round(v*units)))
}
