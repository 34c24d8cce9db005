package flv

import (
	"github.com/bluenviron/mediacommon/v2/pkg/bits"

	"github.com/livegate/gateway/remux"
)

// E-AC-3 syncframe layout (ETSI TS 102 366 Annex E.1.2).
const (
	eac3Dependent = 1 // strmtyp of a dependent substream (E.1.3.1.1)
	// eac3BSIBytes covers the bsi fields up to chanmap in the longest case:
	// syncword(16) strmtyp(2) substreamid(3) frmsiz(11) fscod(2)
	// numblkscod(2) acmod(3) lfeon(1) bsid(5) dialnorm(5) compre(1)
	// compr(8) dialnorm2(5) compre2(1) compr2(8) chanmape(1) chanmap(16).
	eac3BSIBytes = 12
)

// eac3Access reads the configuration of one E-AC-3 access unit (the body
// of a CodedFrames message): its first syncframe, which must be the
// independent substream 0, and the dependent substreams that follow it
// (TS 102 366 E.1.3.1.1: a dependent substream comes right after the
// independent substream it belongs to), counted in NumDepSub with
// the channel locations they add in ChanLoc. The data rate covers them
// all. Frames after the next independent substream are not read.
func eac3Access(b []byte) (remux.EAC3Config, error) {
	c, size, err := remux.ParseEAC3Frame(b)
	if err != nil {
		return c, err
	}
	total := size
	for rest := b[min(size, len(b)):]; len(rest) > 0; {
		d, n, err := remux.ParseEAC3Frame(rest)
		if err != nil || n <= 0 || n > len(rest) || d.Strmtyp != eac3Dependent {
			break // the next independent substream or access unit, or no syncframe
		}
		chanmap, ok := eac3Chanmap(rest)
		if !ok {
			break
		}
		// TS 102 366 F.6.2.14: num_dep_sub is a 4-bit field.
		if c.NumDepSub < 15 {
			c.NumDepSub++
		}
		c.ChanLoc |= eac3ChanLoc(chanmap)
		total += n
		rest = rest[n:]
	}
	if c.NumDepSub > 0 {
		// ETSI TS 102 366 F.6.2.2: data_rate in kbit/s, all substreams.
		c.DataRate = total * 8 * c.SampleRate / (c.Blocks * eac3BlockSamples) / 1000
	}
	return c, nil
}

// eac3BlockSamples is the length of one audio block (TS 102 366 E.1.3.1.4).
const eac3BlockSamples = 256

// eac3Chanmap returns the custom channel map of a dependent substream's
// syncframe (TS 102 366 E.1.2.2 bsi, E.1.3.1.8 chanmap), 0 when chanmape
// is 0 (the substream's channels then follow its acmod and replace the
// independent substream's); false when the frame is too short.
func eac3Chanmap(frame []byte) (uint16, bool) {
	if len(frame) < eac3BSIBytes {
		return 0, false
	}
	// syncword, strmtyp, substreamid, frmsiz, fscod, then numblkscod (or
	// fscod2 when fscod is 3: 2 bits either way).
	pos := 16 + 2 + 3 + 11 + 2 + 2
	acmod := bits.ReadBitsUnsafe(frame, &pos, 3)
	pos += 1 + 5 + 5 // lfeon, bsid, dialnorm
	if bits.ReadFlagUnsafe(frame, &pos) {
		pos += 8 // compr
	}
	if acmod == 0 { // 1+1: the second channel's dialnorm2, compre2, compr2
		pos += 5
		if bits.ReadFlagUnsafe(frame, &pos) {
			pos += 8
		}
	}
	if !bits.ReadFlagUnsafe(frame, &pos) { // chanmape
		return 0, true
	}
	return uint16(bits.ReadBitsUnsafe(frame, &pos, 16)), true
}

// eac3ChanLoc converts a chanmap (TS 102 366 Table E.1.4, bit 0 the most
// significant: L, C, R, Ls, Rs, Lc/Rc, Lrs/Rrs, Cs, Ts, Lsd/Rsd, Lw/Rw,
// Vhl/Vhr, Vhc, Lts/Rts, LFE2, LFE) to the chan_loc bits of the locations
// beyond 5.1 (Table F.6.1, bit 0 the least significant: Lc/Rc, Lrs/Rrs, Cs,
// Ts, Lsd/Rsd, Lw/Rw, Lvh/Rvh, Cvh, LFE2). L to Rs and LFE replace the
// independent substream's channels; Lts/Rts has no chan_loc bit.
func eac3ChanLoc(chanmap uint16) uint16 {
	var loc uint16
	for k := 5; k <= 12; k++ { // Lc/Rc .. Vhc
		if chanmap&(1<<(15-k)) != 0 {
			loc |= 1 << (k - 5)
		}
	}
	if chanmap&(1<<(15-14)) != 0 { // LFE2
		loc |= 1 << 8
	}
	return loc
}
