package flv

import "fmt"

// MaxNALUs bounds the NAL units of one access unit, so a hostile body of
// tiny NAL units cannot make the splitter grow its slice without limit.
// Sliced encodes use tens of slices per picture; 1024 leaves a wide margin.
const MaxNALUs = 1024

// SplitNALUs splits an access unit in length-prefixed form (ISO/IEC
// 14496-15 §5.3.2, the FLV AVCPacketType 1 payload) into its NAL units,
// appended to dst[:0] as sub-slices of buf (nothing is copied; capacity is
// clipped so appending to one cannot overwrite the next). lengthSize is the
// configuration record's NAL unit length size: 1, 2 or 4. Zero-length NAL
// units are skipped. Reusing the returned slice as dst makes steady-state
// splitting allocation-free.
func SplitNALUs(dst [][]byte, buf []byte, lengthSize int) ([][]byte, error) {
	dst = dst[:0]
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return dst, fmt.Errorf("%w: %d", ErrLengthSize, lengthSize)
	}
	p := 0
	for p < len(buf) {
		if len(buf)-p < lengthSize {
			return dst, fmt.Errorf("%w: %d trailing bytes after %d NAL units, need a %d-byte length",
				ErrTruncated, len(buf)-p, len(dst), lengthSize)
		}
		var size uint32
		for _, c := range buf[p : p+lengthSize] {
			size = size<<8 | uint32(c)
		}
		p += lengthSize
		if uint64(size) > uint64(len(buf)-p) {
			return dst, fmt.Errorf("%w: NAL unit %d announces %d bytes, %d left", ErrTruncated, len(dst), size, len(buf)-p)
		}
		n := int(size)
		if n == 0 {
			continue
		}
		if len(dst) == MaxNALUs {
			return dst, fmt.Errorf("%w: more than %d", ErrTooManyNALUs, MaxNALUs)
		}
		dst = append(dst, buf[p:p+n:p+n])
		p += n
	}
	return dst, nil
}
