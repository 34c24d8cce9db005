package hls

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/livegate/gateway/remux"
)

// fmp4Muxer stages samples per track and writes one moof+mdat per fragment
// (an LL-HLS part, or an internal fragment of a plain fMP4 segment).
type fmp4Muxer struct {
	tracks []*trackState
	timing *trackState
	seq    uint32 // mfhd sequence number, increasing per fragment
	buf    []byte // the segment being built; fragments are windows into it
	last   int    // size of the last segment
	frag   []fragTrack
	counts []int
}

func (m *fmp4Muxer) begin(tracks []*trackState, timing *trackState) ([]byte, error) {
	m.tracks, m.timing = tracks, timing
	var init fmp4.Init
	for _, t := range tracks {
		c, err := fmp4Codec(t.src)
		if err != nil {
			return nil, err
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        int(t.id),
			TimeScale: uint32(t.clock),
			Codec:     c,
		})
	}
	var w seekablebuffer.Buffer
	if err := init.Marshal(&w); err != nil {
		return nil, fmt.Errorf("marshal init: %w", err)
	}
	if m.buf == nil {
		m.buf = make([]byte, 0, nextBufCap(m.last))
	}
	out := w.Bytes()
	out = patchInit(out, tracks)
	return out, nil
}

func (m *fmp4Muxer) write(t *trackState, dts, pts int64, key bool, s *remux.Sample) error {
	t.stage(dts, pts, key, s)
	return nil
}

func (m *fmp4Muxer) fragment(cut int64, final bool) (fragResult, error) {
	m.frag = m.frag[:0]
	m.counts = m.counts[:0]
	var res fragResult
	for _, t := range m.tracks {
		n := t.cutCount(cut, m.timing.clock, final)
		m.counts = append(m.counts, n)
		if n == 0 {
			continue
		}
		last := t.entries[n-1]
		m.frag = append(m.frag, fragTrack{
			id:       t.id,
			baseTime: uint64(t.entries[0].dts),
			entries:  t.entries[:n],
			data:     t.data[:last.off+last.size],
		})
		if t == m.timing {
			res.independent = t.entries[0].key
		}
	}
	if final {
		// The epoch ends: samples at or after the cut are dropped.
		defer func() {
			for _, t := range m.tracks {
				t.entries, t.data = t.entries[:0], t.data[:0]
			}
		}()
	}
	if len(m.frag) == 0 {
		return res, nil
	}
	start := len(m.buf)
	m.seq++
	m.buf = appendFragment(m.buf, m.seq, m.frag)
	for i, t := range m.tracks {
		t.consume(m.counts[i])
	}
	res.ok = true
	res.body = m.buf[start:len(m.buf):len(m.buf)]
	return res, nil
}

func (m *fmp4Muxer) startSegment(bool) error { return nil }

func (m *fmp4Muxer) takeSegment() []byte {
	b := m.buf
	if len(b) > 0 {
		m.last = len(b)
	}
	m.buf = make([]byte, 0, nextBufCap(m.last))
	return b[:len(b):len(b)]
}
