package hls

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/livegate/gateway/remux"
)

// tsAudioBatch is how many AAC or MP3 frames go into one PES packet. One
// PES per frame costs a PES header and a padded TS packet per ~23 ms (and,
// for audio-only streams, a PAT/PMT per frame because every audio PES is a
// random access point on the PCR PID).
const tsAudioBatch = 5

// H.264 access unit delimiter (ITU-T H.264 §7.3.2.4): NAL unit type 9,
// primary_pic_type 7 (any slice type).
const h264AUD = 9

var audNALU = []byte{h264AUD, 0xf0}

// tsMuxer writes MPEG-TS with mediacommon's mpegts.Writer straight into the
// segment buffer (it is the Writer's io.Writer). Video is written as it
// arrives; audio is batched.
type tsMuxer struct {
	w      *mpegts.Writer
	tracks []*trackState
	buf    []byte
	last   int
	au     [][]byte // scratch access unit with in-band parameter sets
	aus    [][]byte // scratch audio batch
}

// Write implements io.Writer for mpegts.Writer.
func (m *tsMuxer) Write(p []byte) (int, error) {
	m.buf = append(m.buf, p...)
	return len(p), nil
}

func (m *tsMuxer) begin(tracks []*trackState, _ *trackState) ([]byte, error) {
	m.tracks = tracks
	w := &mpegts.Writer{W: m}
	for _, t := range tracks {
		c, err := tsCodec(t.src)
		if err != nil {
			return nil, err
		}
		t.ts = &mpegts.Track{Codec: c}
		w.Tracks = append(w.Tracks, t.ts)
	}
	if err := w.Initialize(); err != nil {
		return nil, fmt.Errorf("init MPEG-TS writer: %w", err)
	}
	m.w = w
	if m.buf == nil {
		m.buf = make([]byte, 0, nextBufCap(m.last))
	}
	return nil, nil
}

func (m *tsMuxer) write(t *trackState, dts, pts int64, key bool, s *remux.Sample) error {
	switch t.src.Codec {
	case remux.CodecH264:
		if len(s.NALUs) == 0 {
			return nil
		}
		m.au = m.au[:0]
		if s.NALUs[0][0]&0x1f != h264AUD {
			// An access unit delimiter first (required by Apple and video.js
			// in TS); given here so that mediacommon does not allocate to
			// prepend its own.
			m.au = append(m.au, audNALU)
		}
		if key {
			// Parameter sets travel in the track; MPEG-TS decoders need them
			// in-band before every IDR (ITU-T H.222.0 carries no avcC).
			m.au = append(m.au, t.src.SPS, t.src.PPS)
		}
		m.au = append(m.au, s.NALUs...)
		// The video clock is the 90 kHz MPEG-TS system clock: no conversion.
		if err := m.w.WriteH264(t.ts, pts, dts, m.au); err != nil {
			return fmt.Errorf("write H264: %w", err)
		}
	case remux.CodecH265:
		if len(s.NALUs) == 0 {
			return nil
		}
		m.au = m.au[:0]
		if key {
			// As for H.264: the parameter sets go in-band before every IRAP
			// picture (mediacommon prepends the AUD).
			m.au = append(m.au, t.src.VPS, t.src.SPS, t.src.PPS)
		}
		m.au = append(m.au, s.NALUs...)
		if err := m.w.WriteH265(t.ts, pts, dts, m.au); err != nil {
			return fmt.Errorf("write H265: %w", err)
		}
	case remux.CodecAAC, remux.CodecMP3:
		t.stage(dts, pts, key, s)
		if len(t.entries) >= tsAudioBatch {
			return m.flushAudio(t)
		}
	}
	return nil
}

func (m *tsMuxer) flushAudio(t *trackState) error {
	if len(t.entries) == 0 {
		return nil
	}
	e0 := t.entries[0]
	pts90 := (e0.dts + int64(e0.cto)) * remux.VideoClockRate / t.clock
	var err error
	if t.src.Codec == remux.CodecMP3 {
		err = m.writeMPEGAudio(t, pts90)
	} else {
		m.aus = m.aus[:0]
		for _, e := range t.entries {
			m.aus = append(m.aus, t.data[e.off:e.off+e.size])
		}
		err = m.w.WriteMPEG4Audio(t.ts, pts90, m.aus)
	}
	t.entries, t.data = t.entries[:0], t.data[:0]
	if err != nil {
		return fmt.Errorf("write %v: %w", t.src.Codec, err)
	}
	return nil
}

// writeMPEGAudio writes the staged frames of an MP3 track as one PES: an
// MPEG audio PES payload is the frames back to back (ITU-T H.222.0 §2.4.3.7),
// and they are contiguous in t.data.
//
// mediacommon v2.9.5's WriteMPEG1Audio is not used: it copies the frames,
// and it fails (fatally for the publication) on a first frame it cannot
// parse, on Layer I and on the MPEG-2 "lower sampling frequencies" (16,
// 22.05, 24 kHz) that the ingest accepts. The writer's plain audio PES path
// (WriteAC3, which checks nothing) writes them as they are. The PMT says
// stream type 0x03 (ISO/IEC 11172-3) for every MPEG audio track, where
// H.222.0 Table 2-34 has 0x04 for the MPEG-2 rates; mediacommon cannot
// write 0x04, and ffmpeg and hls.js treat both alike, reading the version
// from each frame header.
func (m *tsMuxer) writeMPEGAudio(t *trackState, pts90 int64) error {
	first, last := t.entries[0], t.entries[len(t.entries)-1]
	return m.w.WriteAC3(t.ts, pts90, t.data[first.off:last.off+last.size])
}

func (m *tsMuxer) fragment(int64, bool) (fragResult, error) {
	for _, t := range m.tracks {
		if err := m.flushAudio(t); err != nil {
			return fragResult{}, err
		}
	}
	return fragResult{}, nil
}

func (m *tsMuxer) startSegment(keyStart bool) error {
	if keyStart {
		// A random access on the PCR PID makes the writer emit PAT/PMT first.
		return nil
	}
	// RFC 8216 §3.2: each TS segment MUST carry a PAT and PMT before its first PES.
	if _, err := m.w.WriteTables(); err != nil {
		return fmt.Errorf("write PAT/PMT: %w", err)
	}
	return nil
}

func (m *tsMuxer) takeSegment() []byte {
	b := m.buf
	if len(b) > 0 {
		m.last = len(b)
	}
	m.buf = make([]byte, 0, nextBufCap(m.last))
	return b[:len(b):len(b)]
}
