package hls

import (
	"hash/fnv"
	"strconv"
	"time"
)

// Media playlists are rendered here rather than with gohlslib's
// playlist.Media, which has no per-segment EXT-X-MAP (needed after a
// discontinuity with a new init section) and builds strings. A snapshot is
// rendered at most once per form (full, delta) and the bytes are shared by
// every request (see lazyObject).

// Protocol versions, as low as the features allow (bis §6.2.1: SHOULD):
// 3 for floating-point EXTINF (RFC 8216 §7); 6 for EXT-X-MAP in a media
// playlist without EXT-X-I-FRAMES-ONLY (RFC 8216 §7); 9 for EXT-X-SKIP
// (bis §8: delta updates).
func playlistVersion(v Variant) int {
	switch v {
	case VariantMPEGTS:
		return 3
	case VariantFMP4:
		return 6
	}
	return 9
}

func (v *snapshot) renderFull() *Object  { return v.renderMedia(false) }
func (v *snapshot) renderDelta() *Object { return v.renderMedia(true) }

// skipCount is how many leading window segments a delta update may skip:
// bis §4.4.3.8 / §6.2.5.1: only segments whose end is at least the Skip
// Boundary (CAN-SKIP-UNTIL, 6 × TD) from the end of the playlist.
func (v *snapshot) skipCount() int {
	boundary := 6 * time.Duration(v.td) * time.Second
	win := v.window()
	var after time.Duration
	for _, pt := range v.open.parts {
		after += pt.dur
	}
	for i := len(win) - 1; i >= 0; i-- {
		if after >= boundary {
			return i + 1
		}
		after += win[i].dur
	}
	return 0
}

func (v *snapshot) renderMedia(skip bool) *Object {
	s := v.s
	cfg := &s.m.cfg
	ll := cfg.Variant == VariantLowLatency
	win := v.window()
	skipped := 0
	if skip && ll {
		skipped = v.skipCount()
	}

	b := make([]byte, 0, int(s.renderHint.Load())+512)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, int64(playlistVersion(cfg.Variant)), 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(v.td), 10)
	b = append(b, '\n')
	if ll {
		td := time.Duration(v.td) * time.Second
		b = append(b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL="...)
		b = appendSeconds(b, 6*td)
		// bis §4.4.3.8: PART-HOLD-BACK MUST be at least twice PART-TARGET and
		// SHOULD be at least three times; Apple HLS Authoring 14.3 makes
		// three times a MUST.
		b = append(b, ",PART-HOLD-BACK="...)
		b = appendSeconds(b, 3*cfg.PartDuration)
		b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
		b = appendSeconds(b, cfg.PartDuration)
		b = append(b, '\n')
	}
	b = append(b, "#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, v.open.msn-int64(len(win)), 10)
	b = append(b, '\n')
	if v.dsn > 0 || anyDisc(win) || (len(v.open.parts) > 0 && v.open.disc) {
		// RFC 8216 §4.3.3.3.
		b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendInt(b, v.dsn, 10)
		b = append(b, '\n')
	}
	if v.allIndependent() {
		// RFC 8216 §4.3.5.1: claimed only while every segment (and, for
		// LL-HLS, the segment in progress) starts with a key frame.
		b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	if skipped > 0 {
		b = append(b, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
		b = strconv.AppendInt(b, int64(skipped), 10)
		b = append(b, '\n')
	}

	// Parts are listed for the segments that end within three target
	// durations of the end (bis §4.4.4.9: EXT-X-PART tags SHOULD be removed
	// once more than three target durations from the end).
	partsFrom := len(win)
	if ll {
		horizon := 3 * time.Duration(v.td) * time.Second
		var after time.Duration
		for _, pt := range v.open.parts {
			after += pt.dur
		}
		for i := len(win) - 1; i >= 0 && after < horizon; i-- {
			partsFrom = i
			after += win[i].dur
		}
	}

	prevInit := -1 // init sections are compared by number (see setInitTDLocked)
	for i := skipped; i < len(win); i++ {
		seg := win[i]
		if seg.disc {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if seg.init != nil && (i == skipped || seg.init.n != prevInit) {
			b = appendMap(b, s.prefix, seg.init)
		}
		if seg.init != nil {
			prevInit = seg.init.n
		}
		b = appendPDT(b, seg.pdt)
		if i >= partsFrom {
			for j, pt := range seg.parts {
				b = appendPart(b, s.prefix, seg.msn, j, pt)
			}
		}
		if seg.gap {
			b = append(b, "#EXT-X-GAP\n"...)
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, seg.dur)
		b = append(b, ",\n"...)
		b = appendSegmentName(b, s.prefix, seg.msn, s.segmentExt())
		b = append(b, '\n')
	}
	if ll && len(v.open.parts) > 0 {
		o := &v.open
		if o.disc {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if o.init != nil && o.init.n != prevInit {
			b = appendMap(b, s.prefix, o.init)
		}
		b = appendPDT(b, o.pdt)
		for j, pt := range o.parts {
			b = appendPart(b, s.prefix, o.msn, j, pt)
		}
	}
	if v.hint && !v.ended() {
		// bis §4.4.5.3: the part the server produces next; a request for it
		// blocks until it is complete.
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = appendPartName(b, s.prefix, v.open.msn, len(v.open.parts))
		b = append(b, "\"\n"...)
	}
	if ll && s.parent != nil {
		b = s.appendRenditionReports(b)
	}
	if v.ended() {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	s.renderHint.Store(int64(len(b)))
	return &Object{
		Kind:           KindMediaPlaylist,
		Body:           b,
		ContentType:    contentTypePlaylist,
		ModTime:        v.modTime,
		ETag:           bodyETag(b),
		TargetDuration: time.Duration(v.td) * time.Second,
		Ended:          v.ended(),
	}
}

func anyDisc(win []*segment) bool {
	for _, seg := range win {
		if seg.disc {
			return true
		}
	}
	return false
}

func (v *snapshot) allIndependent() bool {
	for _, seg := range v.window() {
		if !seg.independent {
			return false
		}
	}
	if len(v.open.parts) > 0 && !v.open.independent {
		return false
	}
	return true
}

func appendMap(b []byte, prefix string, in *initSection) []byte {
	b = append(b, "#EXT-X-MAP:URI=\""...)
	b = appendInitName(b, prefix, in.n)
	return append(b, "\"\n"...)
}

func appendPart(b []byte, prefix string, msn int64, idx int, pt *part) []byte {
	b = append(b, "#EXT-X-PART:DURATION="...)
	b = appendSeconds(b, pt.dur)
	b = append(b, ",URI=\""...)
	b = appendPartName(b, prefix, msn, idx)
	b = append(b, '"')
	if pt.independent {
		b = append(b, ",INDEPENDENT=YES"...)
	}
	return append(b, '\n')
}

// appendPDT writes EXT-X-PROGRAM-DATE-TIME (RFC 8216 §4.3.2.6: ISO 8601
// with milliseconds), on every segment (Apple HLS Authoring 8.4).
func appendPDT(b []byte, t time.Time) []byte {
	b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '\n')
}

// appendSeconds writes d in seconds with five decimals (RFC 8216 §4.3.2.1:
// decimal-floating-point).
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	n := (int64(d) + 5000) / 10000 // units of 10 µs
	b = strconv.AppendInt(b, n/100000, 10)
	b = append(b, '.')
	frac := n % 100000
	for div := int64(10000); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	return b
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// bodyETag is a strong entity tag from the rendered bytes, so identical
// playlists (the multivariant, mostly) revalidate with 304.
func bodyETag(b []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(b)
	var out [18]byte
	out[0] = '"'
	const hexdigits = "0123456789abcdef"
	sum := h.Sum64()
	for i := 0; i < 16; i++ {
		out[16-i] = hexdigits[sum&0xf]
		sum >>= 4
	}
	out[17] = '"'
	return string(out[:])
}
