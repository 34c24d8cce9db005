package flv

import (
	"fmt"

	"github.com/livegate/gateway/remux"
)

// ADTS header sizes (ISO/IEC 14496-3 §1.A.2.2.1): 7 bytes, 9 with CRC.
const (
	adtsHeader    = 7
	adtsHeaderCRC = 9
)

// isADTS reports whether b starts like an ADTS header: syncword 0xFFF and
// layer 0 (ISO/IEC 14496-3 §1.A.2.2.1: "layer: Indicates which layer is
// used. Set to '00'"). A raw AAC raw_data_block cannot usefully start so.
func isADTS(b []byte) bool {
	return len(b) >= adtsHeader && b[0] == 0xff && b[1]&0xf6 == 0xf0
}

// audioADTS handles the publisher mistake of sending ADTS-framed AAC in
// AACPacketType 1 (FLV spec E.4.2.1 wants a raw AAC frame): each ADTS
// frame's header is stripped and its raw_data_block written. Without an
// AudioSpecificConfig the track is configured from the first header.
func (d *Demuxer) audioADTS(st *audioState, ts uint32, data []byte) error {
	if !d.adtsLogged {
		d.adtsLogged = true
		d.log.Warn().Msg("AAC frames arrive with ADTS headers (publisher mistake): headers stripped")
	}
	for i, p := 0, 0; p < len(data); i++ {
		h := data[p:]
		if !isADTS(h) {
			d.dropMalformed("audio", fmt.Errorf("%w: no ADTS header at offset %d", ErrADTS, p))
			return nil
		}
		hdr := adtsHeader
		if h[1]&0x01 == 0 { // protection_absent 0: a CRC follows
			hdr = adtsHeaderCRC
		}
		// aac_frame_length (13 bits) counts the header too.
		n := int(h[3]&0x03)<<11 | int(h[4])<<3 | int(h[5]>>5)
		if n <= hdr || n > len(h) {
			d.dropMalformed("audio", fmt.Errorf("%w: aac_frame_length %d with %d bytes left", ErrADTS, n, len(h)))
			return nil
		}
		if h[6]&0x03 != 0 {
			d.dropMalformed("audio", fmt.Errorf("%w: %d raw data blocks in one frame", ErrADTS, h[6]&0x03+1))
			return nil
		}
		t := d.r.Track(remux.KindAudio, st.source)
		if t == nil {
			var err error
			if t, err = d.adtsTrack(h); err != nil {
				d.dropMalformed("audio", err)
				return nil
			}
			if err := d.setAudioTrack(st, t); err != nil {
				return err
			}
		}
		// Frames after the first carry the message timestamp plus their
		// offset; the Remuxer's AAC clock keeps them sample-exact.
		off := uint32(int64(i) * int64(t.AACFrameSamples()) * 1000 / int64(t.ClockRate))
		if err := d.writeAudio(st, ts+off, 0, h[hdr:n]); err != nil {
			return err
		}
		p += n
	}
	return nil
}

// adtsTrack builds an AAC track from an ADTS fixed header by writing the
// equivalent two-byte AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).
func (d *Demuxer) adtsTrack(h []byte) (*remux.Track, error) {
	objectType := h[2]>>6 + 1 // ADTS profile = audioObjectType - 1
	freqIndex := (h[2] >> 2) & 0x0f
	channels := (h[2]&0x01)<<2 | h[3]>>6
	asc := [2]byte{objectType<<3 | freqIndex>>1, (freqIndex&1)<<7 | channels<<3}
	t, err := remux.NewAACTrack(asc[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrADTS, err)
	}
	return t, nil
}
