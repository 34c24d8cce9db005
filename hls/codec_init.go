package hls

import (
	"encoding/binary"

	"github.com/livegate/gateway/remux"
)

// mediacommon's init writer fills some decoder configuration fields with
// fixed values: dOps always says pre-skip 312, 48 kHz input and no gain,
// and vpcC says level 1 with colour fields 0 (reserved). The track knows
// the real values; patchInit writes them in place (the box sizes do not
// change), so that players trim the real encoder delay and see the real
// colour description.

// Sample entry layouts (ISO/IEC 14496-12 §12.1.3 VisualSampleEntry, §12.2.3
// AudioSampleEntry): the child boxes start after these many bytes of the
// entry's body.
const (
	visualEntryFields = 78
	audioEntryFields  = 28
	stsdFields        = 8 // full box header + entry_count
)

// patchInit rewrites dOps and vpcC in an init segment built for tracks.
func patchInit(init []byte, tracks []*trackState) {
	for _, t := range tracks {
		tr := t.src
		switch {
		case tr.Codec == remux.CodecOpus && tr.Opus != nil:
			if b := findConfigBox(init, "Opus", "dOps"); len(b) >= 11 {
				// Opus in ISOBMFF §4.3.2: Version, OutputChannelCount,
				// PreSkip, InputSampleRate, OutputGain (big-endian, unlike
				// the OpusHead), ChannelMappingFamily.
				binary.BigEndian.PutUint16(b[2:], uint16(tr.Opus.PreSkip))
				binary.BigEndian.PutUint32(b[4:], uint32(tr.Opus.InputSampleRate))
				binary.BigEndian.PutUint16(b[8:], uint16(tr.Opus.OutputGain))
			}
		case tr.Codec == remux.CodecVP9 && tr.VP9 != nil:
			if b := findConfigBox(init, "vp09", "vpcC"); len(b) >= 12 {
				// VP Codec ISO Media File Format Binding §2.2 (version 1):
				// after the full box header, profile, level, bitDepth(4)
				// chromaSubsampling(3) videoFullRangeFlag(1), colourPrimaries,
				// transferCharacteristics, matrixCoefficients.
				c := tr.VP9
				if c.Level != 0 {
					b[5] = c.Level
				}
				b[7], b[8], b[9] = c.ColourPrimaries, c.TransferCharacteristics, c.MatrixCoefficients
			}
		}
	}
}

// findConfigBox returns the body of the child box cfg of the first sample
// entry of type entry in init, nil when there is none.
func findConfigBox(init []byte, entry, cfg string) []byte {
	var found []byte
	walkBoxes(init, func(typ string, body []byte) bool {
		if found != nil {
			return false
		}
		switch typ {
		case "moov", "trak", "mdia", "minf", "stbl":
			return true
		case "stsd":
			if len(body) < stsdFields {
				return false
			}
			walkBoxes(body[stsdFields:], func(typ string, body []byte) bool {
				if typ != entry || found != nil {
					return false
				}
				skip := audioEntryFields
				if len(entry) == 4 && (entry == "vp09" || entry == "av01") {
					skip = visualEntryFields
				}
				if len(body) < skip {
					return false
				}
				walkBoxes(body[skip:], func(typ string, body []byte) bool {
					if typ == cfg && found == nil {
						found = body
					}
					return false
				})
				return false
			})
		}
		return false
	})
	return found
}

// walkBoxes calls fn for each box in b (ISO/IEC 14496-12 §4.2, 32-bit
// sizes) and descends into the body when fn returns true.
func walkBoxes(b []byte, fn func(typ string, body []byte) bool) {
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return
		}
		if fn(string(b[4:8]), b[8:size]) {
			walkBoxes(b[8:size], fn)
		}
		b = b[size:]
	}
}
