package flv

import (
	"bytes"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// eac3Header describes the bsi fields of a hand-built E-AC-3 syncframe
// (ETSI TS 102 366 E.1.2.2).
type eac3Header struct {
	strmtyp, substreamid, acmod uint8
	lfeon, compre               bool
	chanmape                    bool
	chanmap                     uint16
	size                        int // bytes, even
}

// bitWriter appends big-endian bit fields.
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) put(v uint64, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

func flag(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// eac3Frame builds a 48 kHz, 6-block syncframe whose bsi is h and whose
// audio data is zeros.
func eac3Frame(h eac3Header) []byte {
	var w bitWriter
	w.put(0x0b77, 16)
	w.put(uint64(h.strmtyp), 2)
	w.put(uint64(h.substreamid), 3)
	w.put(uint64(h.size/2-1), 11) // frmsiz: words - 1
	w.put(0, 2)                   // fscod 48 kHz
	w.put(3, 2)                   // numblkscod: 6 blocks
	w.put(uint64(h.acmod), 3)
	w.put(flag(h.lfeon), 1)
	w.put(16, 5) // bsid
	w.put(31, 5) // dialnorm
	w.put(flag(h.compre), 1)
	if h.compre {
		w.put(0xff, 8)
	}
	if h.acmod == 0 {
		w.put(31, 5) // dialnorm2
		w.put(1, 1)  // compre2
		w.put(0xff, 8)
	}
	if h.strmtyp == 1 {
		w.put(flag(h.chanmape), 1)
		if h.chanmape {
			w.put(uint64(h.chanmap), 16)
		}
	}
	out := make([]byte, h.size)
	copy(out, w.b)
	return out
}

// chanmap bits (TS 102 366 Table E.1.4, bit 0 the most significant).
const (
	chmapL, chmapR         = 1 << 15, 1 << 13
	chmapLs, chmapRs       = 1 << 12, 1 << 11
	chmapLrsRrs, chmapLFE2 = 1 << 9, 1 << 1
	chmapLwRw, chmapVhc    = 1 << 5, 1 << 3
)

var (
	eac3Indep51 = eac3Header{acmod: 7, lfeon: true, size: 768}
	// 7.1 as Dolby codes it: the 5.1 independent substream and a dependent
	// substream with the back surround pair.
	eac3Dep71 = eac3Header{strmtyp: 1, acmod: 2, chanmape: true, chanmap: chmapLrsRrs, size: 256}
)

func TestEAC3Access(t *testing.T) {
	indep := eac3Frame(eac3Indep51)
	cases := []struct {
		name          string
		frames        [][]byte
		numDep        uint8
		chanLoc       uint16
		channels, kbs int
	}{
		{"5.1", [][]byte{indep}, 0, 0, 6, 768 * 8 * 48000 / 1536 / 1000},
		{"7.1", [][]byte{indep, eac3Frame(eac3Dep71)}, 1, 2, 8, 1024 * 8 * 48000 / 1536 / 1000},
		// The dependent substream replaces Ls/Rs (chanmape 0 or L..Rs bits):
		// no location beyond 5.1.
		{"replacing", [][]byte{indep, eac3Frame(eac3Header{strmtyp: 1, acmod: 2, size: 256})}, 1, 0, 6, 1024 * 8 * 48000 / 1536 / 1000},
		{"replacing chanmap", [][]byte{indep, eac3Frame(eac3Header{strmtyp: 1, acmod: 2, chanmape: true, chanmap: chmapLs | chmapRs, size: 256})},
			1, 0, 6, 1024 * 8 * 48000 / 1536 / 1000},
		// Two dependent substreams, compr and the 1+1 mode's second
		// dialnorm before chanmap: wide pair, top centre and LFE2.
		{"9.2", [][]byte{indep,
			eac3Frame(eac3Header{strmtyp: 1, acmod: 2, compre: true, chanmape: true, chanmap: chmapLwRw, size: 128}),
			eac3Frame(eac3Header{strmtyp: 1, substreamid: 1, acmod: 0, chanmape: true, chanmap: chmapVhc | chmapLFE2, size: 128})},
			2, 1<<5 | 1<<7 | 1<<8, 10, 1024 * 8 * 48000 / 1536 / 1000},
		// The next access unit (independent substream 0) ends the read.
		{"two access units", [][]byte{indep, eac3Frame(eac3Dep71), indep, eac3Frame(eac3Dep71)}, 1, 2, 8, 1024 * 8 * 48000 / 1536 / 1000},
		{"trailing junk", [][]byte{indep, {0x0b, 0x77, 0x40}}, 0, 0, 6, 768 * 8 * 48000 / 1536 / 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := eac3Access(bytes.Join(c.frames, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got.NumDepSub != c.numDep || got.ChanLoc != c.chanLoc || got.ChannelCount() != c.channels || got.DataRate != c.kbs ||
				got.Acmod != 7 || !got.LfeOn || got.Strmtyp != 0 {
				t.Errorf("got %+v (%d channels), want %d dependent, chan_loc %#x, %d channels, %d kbit/s",
					got, got.ChannelCount(), c.numDep, c.chanLoc, c.channels, c.kbs)
			}
		})
	}
	if _, err := eac3Access(eac3Frame(eac3Dep71)); err != nil {
		t.Errorf("a lone dependent substream parses (the track refuses it): %v", err)
	}
	if _, err := eac3Access([]byte{0x0b, 0x77}); err == nil {
		t.Error("truncated syncframe accepted")
	}
}

func TestEAC3ChanLoc(t *testing.T) {
	for _, c := range []struct {
		chanmap, loc uint16
	}{
		{chmapL | chmapR, 0},
		{1 << 10, 1 << 0}, // Lc/Rc
		{chmapLrsRrs, 1 << 1},
		{1 << 8, 1 << 2}, // Cs
		{1 << 7, 1 << 3}, // Ts
		{1 << 6, 1 << 4}, // Lsd/Rsd
		{chmapLwRw, 1 << 5},
		{1 << 4, 1 << 6}, // Vhl/Vhr
		{chmapVhc, 1 << 7},
		{1 << 2, 0}, // Lts/Rts: no chan_loc bit
		{chmapLFE2, 1 << 8},
		{1 << 0, 0}, // LFE
	} {
		if got := eac3ChanLoc(c.chanmap); got != c.loc {
			t.Errorf("chanmap %#04x: chan_loc %#03x, want %#03x", c.chanmap, got, c.loc)
		}
	}
}

// An E-RTMP ec-3 stream whose frames carry a dependent substream (7.1)
// configures an 8-channel track with the dependent substream signalled,
// and the samples keep both substreams.
func TestERTMPEAC3DependentSubstream(t *testing.T) {
	au := append(eac3Frame(eac3Indep51), eac3Frame(eac3Dep71)...)
	src := &ertmp.Track{FourCC: ertmp.EAC3}
	for i := range 10 {
		at := time.Duration(i) * 32 * time.Millisecond
		src.Frames = append(src.Frames, ertmp.Frame{DTS: at, PTS: at, Key: true, Data: au})
	}
	f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{}, src))
	a := f.trackOf(remux.KindAudio, 0)
	if a == nil || a.Codec != remux.CodecEAC3 || a.ChannelCount != 8 || a.EAC3.NumDepSub != 1 || a.EAC3.ChanLoc != 2 {
		t.Fatalf("track %+v, config %+v", a, a.EAC3)
	}
	s := f.samplesOf(a.ID)
	if len(s) != 10 || !bytes.Equal(s[0].Payload, au) {
		t.Errorf("%d samples, first of %d bytes", len(s), len(s[0].Payload))
	}
	if st := f.d.Stats(); st.Dropped != 0 || len(f.sink.sets) != 1 {
		t.Errorf("stats %+v, %d SetTracks\n%s", st, len(f.sink.sets), f.logs)
	}
}

// FuzzEAC3Access: hostile access units never panic, and what is accepted
// is consistent.
func FuzzEAC3Access(f *testing.F) {
	indep, dep := eac3Frame(eac3Indep51), eac3Frame(eac3Dep71)
	f.Add(indep)
	f.Add(append(bytes.Clone(indep), dep...))
	f.Add(append(bytes.Clone(indep), dep[:12]...))
	f.Add(append(bytes.Clone(indep), eac3Frame(eac3Header{strmtyp: 1, acmod: 0, chanmape: true, chanmap: chmapLFE2, size: 12})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := eac3Access(b)
		if err != nil {
			return
		}
		if c.NumDepSub == 0 && c.ChanLoc != 0 || c.ChanLoc >= 1<<9 || c.ChannelCount() > 6+9+5 {
			t.Fatalf("%+v", c)
		}
	})
}
