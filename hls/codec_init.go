package hls

import (
	"encoding/binary"

	"github.com/livegate/gateway/remux"
)

// mediacommon's init writer fills some decoder configuration fields with
// fixed values and leaves some boxes out: dOps always says pre-skip 312,
// 48 kHz input, no gain and channel mapping family 0; vpcC says level 1
// with colour fields 0 (reserved); no visual sample entry has colr, mdcv
// or clli. The track knows the real values. patchInit rewrites fixed-size
// fields in place and splices in the boxes that change sizes, so that
// players trim the real encoder delay, map multichannel Opus and see the
// real colour description.

// Sample entry layouts (ISO/IEC 14496-12 §12.1.3 VisualSampleEntry, §12.2.3
// AudioSampleEntry): the child boxes start after these many bytes of the
// entry's body.
const (
	visualEntryFields = 78
	audioEntryFields  = 28
	stsdFields        = 8 // full box header + entry_count
	boxHeader         = 8 // 32-bit size + type
)

// patchInit completes an init segment built by mediacommon for tracks and
// returns it. Fixed-size rewrites are made in place; when a box is added or
// grows, the result is a new slice and every enclosing box size is fixed,
// so callers must use the returned slice. Applying it twice gives the same
// bytes.
func patchInit(init []byte, tracks []*trackState) []byte {
	for _, t := range tracks {
		tr := t.src
		switch {
		case tr.Codec == remux.CodecOpus && tr.Opus != nil:
			init = editEntryChildren(init, t.id, audioEntryFields, func(children []byte) []byte {
				return replaceBox(children, "dOps", opusDOps(tr.Opus, tr.ChannelCount))
			})
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
		if tr.IsVideo() && tr.ColorInfo != nil {
			init = patchColor(init, t.id, tr)
		}
	}
	return init
}

// opusDOps builds the OpusSpecificBox (Encapsulation of Opus in ISO Base
// Media File Format §4.3.2): Version 0, OutputChannelCount, PreSkip,
// InputSampleRate, OutputGain, ChannelMappingFamily and, for families
// other than 0, StreamCount, CoupledCount and ChannelMapping[OutputChannelCount].
// Fields are big-endian, unlike the OpusHead's (RFC 7845 §5.1).
func opusDOps(c *remux.OpusConfig, channels int) []byte {
	if c.ChannelCount > 0 {
		channels = c.ChannelCount
	}
	size := boxHeader + 11
	if c.MappingFamily != 0 {
		size += 2 + len(c.ChannelMapping)
	}
	b := appendBoxHeader(make([]byte, 0, size), size, "dOps")
	b = append(b, 0, byte(channels))
	b = binary.BigEndian.AppendUint16(b, uint16(c.PreSkip))
	b = binary.BigEndian.AppendUint32(b, uint32(c.InputSampleRate))
	b = binary.BigEndian.AppendUint16(b, uint16(c.OutputGain))
	b = append(b, c.MappingFamily)
	if c.MappingFamily != 0 {
		b = append(b, byte(c.StreamCount), byte(c.CoupledCount))
		b = append(b, c.ChannelMapping...)
	}
	return b
}

// replaceBox returns the boxes of children with the box of type typ
// replaced by box (appended when there is none).
func replaceBox(children []byte, typ string, box []byte) []byte {
	out := make([]byte, 0, len(children)+len(box))
	done := false
	eachBox(children, func(t string, whole []byte) {
		if t != typ {
			out = append(out, whole...)
		} else if !done {
			out, done = append(out, box...), true
		}
	})
	if !done {
		out = append(out, box...)
	}
	return out
}

// eachBox calls fn with the type and the whole bytes of each box in b.
func eachBox(b []byte, fn func(typ string, whole []byte)) {
	for len(b) >= boxHeader {
		size := int(binary.BigEndian.Uint32(b))
		if size < boxHeader || size > len(b) {
			return
		}
		fn(string(b[4:8]), b[:size])
		b = b[size:]
	}
}

// editEntryChildren replaces the child boxes of the first sample entry of
// track id (whose fields before the children take fields bytes) with
// edit(children), fixing the sizes of the entry and of stsd, stbl, minf,
// mdia, trak and moov. init is returned unchanged when the track or its
// entry is not found or edit changes nothing.
func editEntryChildren(init []byte, id uint32, fields int, edit func(children []byte) []byte) []byte {
	var sizes []int // offsets of the size fields of the enclosing boxes
	start, end := -1, -1
	var walk func(off int, b []byte, level int)
	walk = func(off int, b []byte, level int) {
		path := [...]string{"moov", "trak", "mdia", "minf", "stbl", "stsd"}
		for p := 0; p+boxHeader <= len(b) && start < 0; {
			size := int(binary.BigEndian.Uint32(b[p:]))
			if size < boxHeader || p+size > len(b) {
				return
			}
			typ, body := string(b[p+4:p+8]), b[p+boxHeader:p+size]
			switch {
			case level < len(path) && typ == path[level]:
				if typ == "trak" && trackID(body) != id {
					break
				}
				sizes = append(sizes, off+p)
				if typ != "stsd" {
					walk(off+p+boxHeader, body, level+1)
				} else if len(body) >= stsdFields+boxHeader {
					// The first sample entry: mediacommon writes one.
					e := body[stsdFields:]
					esize := int(binary.BigEndian.Uint32(e))
					if esize >= boxHeader+fields && esize <= len(e) {
						eoff := off + p + boxHeader + stsdFields
						sizes = append(sizes, eoff)
						start, end = eoff+boxHeader+fields, eoff+esize
					}
				}
				if start < 0 {
					sizes = sizes[:len(sizes)-1]
				}
			}
			p += size
		}
	}
	walk(0, init, 0)
	if start < 0 {
		return init
	}
	children := edit(init[start:end])
	delta := len(children) - (end - start)
	if delta == 0 {
		copy(init[start:end], children)
		return init
	}
	out := make([]byte, 0, len(init)+delta)
	out = append(out, init[:start]...)
	out = append(out, children...)
	out = append(out, init[end:]...)
	for _, o := range sizes {
		binary.BigEndian.PutUint32(out[o:], uint32(int(binary.BigEndian.Uint32(out[o:]))+delta))
	}
	return out
}

// trackID returns the track_ID of the tkhd in a trak body (ISO/IEC 14496-12
// §8.3.2: after the full box header, creation and modification times of 4
// bytes in version 0, 8 in version 1), 0 when there is none.
func trackID(trak []byte) uint32 {
	var id uint32
	eachBox(trak, func(typ string, whole []byte) {
		body := whole[boxHeader:]
		if typ != "tkhd" || id != 0 || len(body) < 1 {
			return
		}
		off := 4 + 8
		if body[0] == 1 {
			off = 4 + 16
		}
		if len(body) >= off+4 {
			id = binary.BigEndian.Uint32(body[off:])
		}
	})
	return id
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
				if isVisualEntry(entry) {
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

// isVisualEntry reports whether a sample entry type mediacommon writes is
// a VisualSampleEntry.
func isVisualEntry(entry string) bool {
	switch entry {
	case "avc1", "hvc1", "hev1", "av01", "vp09":
		return true
	}
	return false
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
