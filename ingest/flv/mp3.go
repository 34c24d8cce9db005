package flv

import (
	"fmt"

	"github.com/livegate/gateway/remux"
)

// FLV spec E.4.2.1 AUDIODATA SoundFormat: "2 = MP3", "14 = MP3 8-Khz".
// Neither has a sequence header: each frame's MPEG audio header describes
// the stream, and the SoundRate, SoundSize and SoundType bits (which cannot
// say 48 kHz, 24 kHz or 16 kHz) are ignored.
const (
	soundFormatMP3   = 2
	soundFormatMP38k = 14
)

// audioMP3 handles legacy MP3 (SoundFormat 2 and 14). The body after the
// SoundFormat byte is one or more whole MPEG audio frames, as in an E-RTMP
// ".mp3" CodedFrames body, and takes the same path: the first frame's
// header configures the track and a header describing another stream
// starts a new track generation.
func (d *Demuxer) audioMP3(st *audioState, ts uint32, format uint8, data []byte) error {
	if isMPEG25(data) {
		// MPEG-2.5 (the 8, 11.025 and 12 kHz rates, hence every SoundFormat
		// 14 stream) is an unofficial extension that ISO BMFF, MPEG-TS and
		// the remuxer do not carry.
		d.dropUnsupported()
		if !d.soundFormatSeen[format] {
			d.soundFormatSeen[format] = true
			d.log.Warn().Uint8("sound_format", format).
				Msg("MPEG-2.5 audio (8, 11.025 or 12 kHz MP3) is not supported: its frames are dropped")
		}
		return nil
	}
	return d.exAudioFrame(st, ts, 0, remux.CodecMP3, data)
}

// isMPEG25 reports whether b starts with an MPEG-2.5 audio frame header:
// the 11-bit syncword followed by version bits 00.
func isMPEG25(b []byte) bool {
	return len(b) >= 2 && b[0] == 0xff && b[1]&0xf0 == 0xe0
}

// mpegAudioTrack returns the track configured by the MPEG audio frame at the
// start of frame, or nil when cur already has that configuration. A
// configuration differs when the MPEG version, layer, sample rate or
// single-channel mode differ (ISO/IEC 11172-3 §2.4.2.3); the bitrate and
// stereo/joint-stereo mode vary from frame to frame and do not count.
func mpegAudioTrack(cur *remux.Track, frame []byte) (*remux.Track, error) {
	c, _, _, err := remux.ParseMPEGAudioFrame(frame)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMPEGAudio, err)
	}
	if cur != nil && cur.MPEGAudio != nil && *cur.MPEGAudio == c {
		return nil, nil
	}
	t, err := remux.NewMPEGAudioTrack(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMPEGAudio, err)
	}
	return t, nil
}
