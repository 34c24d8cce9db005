package flv

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/livegate/gateway/remux"
)

// audioCodecOf maps an E-RTMP AudioFourCc to the codecs this demuxer handles.
func audioCodecOf(f FourCC) (remux.Codec, bool) {
	switch f {
	case FourCCAAC:
		return remux.CodecAAC, true
	case FourCCOpus:
		return remux.CodecOpus, true
	case FourCCFLAC:
		return remux.CodecFLAC, true
	case FourCCAC3:
		return remux.CodecAC3, true
	case FourCCEAC3:
		return remux.CodecEAC3, true
	case FourCCMP3:
		return remux.CodecMP3, true
	}
	return remux.CodecUnknown, false
}

// audioEnhanced handles an Enhanced RTMP audio message (SoundFormat 9):
// the ExAudioTagHeader, then every track of the body.
func (d *Demuxer) audioEnhanced(ts uint32, body []byte) error {
	h, err := parseExAudioHeader(body)
	if err != nil {
		d.dropMalformed("audio", fmt.Errorf("ExAudioTagHeader: %w", err))
		return nil
	}
	d.noteModEx(&h)
	if !h.multitrack {
		return d.audioTrackBody(&h, ts, h.fourCC, legacySource, h.body)
	}
	if len(h.body) == 0 {
		d.dropMalformed("audio", fmt.Errorf("%w: multitrack message without tracks", ErrTruncated))
		return nil
	}
	for rest := h.body; len(rest) > 0; {
		t, next, err := h.nextTrack(rest)
		if err != nil {
			d.dropMalformed("audio", fmt.Errorf("multitrack: %w", err))
			return nil
		}
		if err := d.audioTrackBody(&h, ts, t.fourCC, t.id, t.body); err != nil {
			return err
		}
		rest = next
	}
	return nil
}

// audioTrackBody handles one track's body of an E-RTMP audio message.
func (d *Demuxer) audioTrackBody(h *exHeader, ts uint32, f FourCC, source int, b []byte) error {
	codec, ok := audioCodecOf(f)
	if !ok {
		d.unsupportedFourCC("audio", f)
		return nil
	}
	st := d.audioTrack(source)
	if st == nil {
		return nil
	}
	switch h.packetType {
	case audioPacketSequenceStart:
		return d.exAudioConfig(st, codec, b)
	case audioPacketCodedFrames:
		return d.exAudioFrame(st, ts, h.nano, codec, b)
	case audioPacketSequenceEnd:
		// E-RTMP v2: "to have no less than the same meaning as a silence
		// message".
		d.log.Debug().Stringer("codec", codec).Int("track_id", source).Msg("end of audio sequence")
		return nil
	case audioPacketMultichannelConfig:
		return d.multichannelConfig(st, b)
	}
	d.dropMalformed("audio", fmt.Errorf("%w: AudioPacketType %d", ErrPacketType, h.packetType))
	return nil
}

// opusTagsMagic starts the Opus comment header (RFC 7845 §5.2), which
// E-RTMP allows in a SequenceStart: "read either identification or comment
// header".
const opusTagsMagic = "OpusTags"

// exAudioConfig handles an E-RTMP audio SequenceStart.
func (d *Demuxer) exAudioConfig(st *audioState, codec remux.Codec, b []byte) error {
	var (
		t   *remux.Track
		err error
	)
	switch codec {
	case remux.CodecAAC:
		return d.aacConfig(st, b)
	case remux.CodecOpus:
		if bytes.HasPrefix(b, []byte(opusTagsMagic)) {
			d.log.Debug().Int("track_id", st.source).Msg("Opus comment header ignored")
			return nil
		}
		var c remux.OpusConfig
		if c, err = remux.ParseOpusHead(b); err == nil {
			t, err = remux.NewOpusTrack(c)
		}
	case remux.CodecFLAC:
		t, err = remux.NewFLACTrack(b)
	default:
		// AC-3, E-AC-3 and MP3 frames describe themselves: E-RTMP defines
		// no sequence start for them.
		d.log.Debug().Stringer("codec", codec).Int("track_id", st.source).Msg("sequence start ignored: the frames configure the track")
		return nil
	}
	if err != nil {
		d.dropMalformed("audio", fmt.Errorf("%v sequence start: %w", codec, err))
		return nil
	}
	return d.setAudioTrack(st, t)
}

// exAudioFrame handles E-RTMP audio CodedFrames, and legacy MP3 frames,
// which are laid out the same way.
func (d *Demuxer) exAudioFrame(st *audioState, ts, nano uint32, codec remux.Codec, b []byte) error {
	if len(b) == 0 {
		d.dropMalformed("audio", fmt.Errorf("%w: empty %v frame", ErrTruncated, codec))
		return nil
	}
	cur := d.r.Track(remux.KindAudio, st.source)
	var (
		t   *remux.Track
		err error
	)
	switch codec {
	case remux.CodecAC3:
		var c remux.AC3Config
		if c, _, err = remux.ParseAC3Frame(b); err == nil && (cur == nil || cur.AC3 == nil || *cur.AC3 != c) {
			t, err = remux.NewAC3Track(c)
		}
	case remux.CodecEAC3:
		var c remux.EAC3Config
		if c, err = eac3Access(b); err == nil && (cur == nil || cur.EAC3 == nil || !cur.EAC3.SameStream(c)) {
			t, err = remux.NewEAC3Track(c)
		}
	case remux.CodecMP3:
		t, err = mpegAudioTrack(cur, b)
	}
	if err != nil {
		d.dropMalformed("audio", fmt.Errorf("%v frame: %w", codec, err))
		return nil
	}
	if t != nil {
		// A self-describing frame configured (or reconfigured) the track.
		if err := d.setAudioTrack(st, t); err != nil {
			return err
		}
		cur = d.r.Track(remux.KindAudio, st.source)
	}
	if cur != nil && cur.Codec != codec {
		d.dropMalformed("audio", fmt.Errorf("%w: %v frame but track %d is configured as %v",
			ErrCodecMismatch, codec, st.source, cur.Codec))
		return nil
	}
	if codec == remux.CodecAAC {
		return d.aacFrame(st, ts, nano, b)
	}
	return d.writeAudio(st, ts, nano, b)
}

// multichannelConfig handles an E-RTMP MultichannelConfig: "audioChannelOrder
// = UI8; channelCount = UI8; if (Custom) audioChannelMapping =
// UI8[channelCount]; if (Native) audioChannelFlags = UI32". It applies to
// the track's configuration from now on.
func (d *Demuxer) multichannelConfig(st *audioState, b []byte) error {
	l, err := parseMultichannelConfig(b)
	if err != nil {
		d.dropMalformed("audio", err)
		return nil
	}
	if st.layout.Equal(&l) {
		return nil
	}
	st.layout = &l
	d.log.Debug().Int("track_id", st.source).Uint8("order", uint8(l.Order)).Int("channels", l.Count).
		Uint32("mask", l.Mask).Msg("multichannel configuration")
	if cur := d.r.Track(remux.KindAudio, st.source); cur != nil && !cur.ChannelLayout.Equal(&l) {
		return d.r.SetTrack(cur.WithChannelLayout(&l))
	}
	return nil
}

// parseMultichannelConfig parses a MultichannelConfig body.
func parseMultichannelConfig(b []byte) (remux.ChannelLayout, error) {
	var l remux.ChannelLayout
	if len(b) < 2 {
		return l, fmt.Errorf("%w: %d bytes", ErrMultichannelConfig, len(b))
	}
	l.Order, l.Count = remux.ChannelOrder(b[0]), int(b[1])
	b = b[2:]
	switch l.Order {
	case remux.ChannelOrderUnspecified:
	case remux.ChannelOrderNative:
		if len(b) < 4 {
			return l, fmt.Errorf("%w: native order without channel flags", ErrMultichannelConfig)
		}
		l.Mask = binary.BigEndian.Uint32(b)
	case remux.ChannelOrderCustom:
		if len(b) < l.Count {
			return l, fmt.Errorf("%w: custom order with %d of %d channel mappings", ErrMultichannelConfig, len(b), l.Count)
		}
		l.Mapping = bytes.Clone(b[:l.Count])
	default:
		return l, fmt.Errorf("%w: reserved AudioChannelOrder %d", ErrMultichannelConfig, l.Order)
	}
	return l, nil
}
