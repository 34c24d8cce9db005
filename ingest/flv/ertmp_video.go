package flv

import (
	"bytes"
	"fmt"

	"github.com/livegate/gateway/remux"
)

// videoCodecOf maps an E-RTMP VideoFourCc to the codecs this demuxer handles.
func videoCodecOf(f FourCC) (remux.Codec, bool) {
	switch f {
	case FourCCAVC:
		return remux.CodecH264, true
	case FourCCHEVC:
		return remux.CodecH265, true
	case FourCCAV1:
		return remux.CodecAV1, true
	case FourCCVP9:
		return remux.CodecVP9, true
	}
	return remux.CodecUnknown, false
}

// videoEnhanced handles an Enhanced RTMP video message (IsExHeader set):
// the ExVideoTagHeader, then every track of the body.
func (d *Demuxer) videoEnhanced(ts uint32, body []byte) error {
	h, err := parseExVideoHeader(body)
	if err != nil {
		d.dropMalformed("video", fmt.Errorf("ExVideoTagHeader: %w", err))
		return nil
	}
	d.noteModEx(&h)
	if h.command {
		// E-RTMP v2 VideoCommand: 0 StartSeek, 1 EndSeek (client-side
		// seeking of recorded media): nothing to do for a live ingest.
		d.log.Debug().Uint8("video_command", h.videoCommand).Msg("video command frame")
		return nil
	}
	if !h.multitrack {
		return d.videoTrackBody(&h, ts, h.fourCC, legacySource, h.body)
	}
	if len(h.body) == 0 {
		d.dropMalformed("video", fmt.Errorf("%w: multitrack message without tracks", ErrTruncated))
		return nil
	}
	for rest := h.body; len(rest) > 0; {
		t, next, err := h.nextTrack(rest)
		if err != nil {
			// The track sizes no longer delimit anything: drop the rest.
			d.dropMalformed("video", fmt.Errorf("multitrack: %w", err))
			return nil
		}
		if err := d.videoTrackBody(&h, ts, t.fourCC, t.id, t.body); err != nil {
			return err
		}
		rest = next
	}
	return nil
}

// noteModEx logs ModEx prefixes of unknown types (rate-limited).
func (d *Demuxer) noteModEx(h *exHeader) {
	if h.unknownModEx == 0 {
		return
	}
	if ok, n := d.modExWarn.hit(); ok {
		d.log.Debug().Int("prefixes", h.unknownModEx).Uint64("count", n).Msg("unknown E-RTMP ModEx types skipped")
	}
}

// videoTrackBody handles one track's body of an E-RTMP video message.
func (d *Demuxer) videoTrackBody(h *exHeader, ts uint32, f FourCC, source int, b []byte) error {
	if h.packetType == videoPacketMetadata {
		// The FrameType "should be ignored" and the body is AMF whatever
		// the codec.
		if st := d.videoTrack(source); st != nil {
			d.videoMetadata(st, b)
		}
		return nil
	}
	codec, ok := videoCodecOf(f)
	if !ok {
		d.unsupportedFourCC("video", f)
		return nil
	}
	st := d.videoTrack(source)
	if st == nil {
		return nil
	}
	keyHint := h.frameType == frameTypeKey
	switch h.packetType {
	case videoPacketSequenceStart:
		return d.exVideoConfig(st, codec, b)
	case videoPacketCodedFrames:
		if codec == remux.CodecH264 || codec == remux.CodecH265 {
			// E-RTMP v2: "compositionTimeOffset = SI24" for avc1 and hvc1;
			// the other codecs have no composition time.
			if len(b) < 3 {
				d.dropMalformed("video", fmt.Errorf("%w: %v CodedFrames of %d bytes", ErrTruncated, codec, len(b)))
				return nil
			}
			return d.videoFrame(st, ts, h.nano, si24(b), keyHint, codec, b[3:])
		}
		return d.payloadFrame(st, ts, h.nano, codec, b)
	case videoPacketCodedFramesX:
		if codec == remux.CodecH264 || codec == remux.CodecH265 {
			return d.videoFrame(st, ts, h.nano, 0, keyHint, codec, b)
		}
		return d.payloadFrame(st, ts, h.nano, codec, b)
	case videoPacketSequenceEnd:
		d.log.Debug().Stringer("codec", codec).Int("track_id", source).Msg("end of sequence")
		return nil
	case videoPacketMPEG2TSSequenceStart:
		// E-RTMP v2: carriage of an MPEG-2 TS descriptor ("PacketTypeSequenceStart
		// and PacketTypeMPEG2TSSequenceStart are mutually exclusive"):
		// nothing here can use it.
		d.dropUnsupported()
		if !d.mpeg2TSLogged {
			d.mpeg2TSLogged = true
			d.log.Warn().Stringer("codec", codec).Msg("E-RTMP MPEG2TSSequenceStart ignored: send a SequenceStart")
		}
		return nil
	}
	d.dropMalformed("video", fmt.Errorf("%w: VideoPacketType %d", ErrPacketType, h.packetType))
	return nil
}

// payloadFrame handles a coded frame of a codec without NAL units.
func (d *Demuxer) payloadFrame(st *videoState, ts, nano uint32, codec remux.Codec, b []byte) error {
	if codec == remux.CodecAV1 {
		return d.av1Frame(st, ts, nano, b)
	}
	return d.vp9Frame(st, ts, nano, b)
}

// exVideoConfig handles an E-RTMP video SequenceStart.
func (d *Demuxer) exVideoConfig(st *videoState, codec remux.Codec, rec []byte) error {
	switch codec {
	case remux.CodecAV1:
		c, err := ParseAV1Config(rec)
		if err != nil {
			d.dropMalformed("video", fmt.Errorf("AV1 sequence start: %w", err))
			return nil
		}
		st.codec = remux.CodecAV1
		if c.SequenceHeader == nil {
			d.log.Debug().Int("track_id", st.source).Msg("AV1 configuration without sequence header: waiting for one in-band")
			return nil
		}
		return d.av1SequenceHeader(st, c.SequenceHeader, true)
	case remux.CodecVP9:
		c, err := ParseVPConfig(rec)
		if err != nil {
			d.dropMalformed("video", fmt.Errorf("VP9 sequence start: %w", err))
			return nil
		}
		// The picture size comes with the next key frame, which
		// configures the track.
		st.codec, st.vp9, st.hasVPCC = remux.CodecVP9, c, true
		return nil
	}
	return d.videoConfig(st, codec, rec)
}

// av1SequenceHeader configures the AV1 track from a sequence header OBU,
// unless it is the configuration in force. fromRecord says it came from a
// SequenceStart (a failure is then a malformed message).
func (d *Demuxer) av1SequenceHeader(st *videoState, obuBytes []byte, fromRecord bool) error {
	o, _, err := nextOBU(obuBytes)
	if err == nil && o.typ != obuSequenceHeader {
		err = fmt.Errorf("%w: OBU type %d is not a sequence header", ErrOBU, o.typ)
	}
	if err == nil {
		cur := d.r.Track(remux.KindVideo, st.source)
		if cur != nil && cur.Codec == remux.CodecAV1 && len(cur.AV1SequenceHeader) > 0 &&
			bytes.Equal(cur.AV1SequenceHeader[1:], o.payload) {
			return nil // the configuration in force, repeated
		}
		var t *remux.Track
		if t, err = remux.NewAV1Track(o.whole); err == nil {
			st.codec, st.av1Reduced = remux.CodecAV1, av1ReducedStillPicture(o.payload)
			return d.setVideoTrack(st, t)
		}
	}
	if fromRecord {
		d.dropMalformed("video", fmt.Errorf("AV1 sequence header: %w", err))
	} else if ok, n := d.inBandWarn.hit(); ok {
		d.log.Warn().Err(err).Stringer("codec", remux.CodecAV1).Uint64("count", n).
			Msg("unusable in-band sequence header ignored")
	}
	return nil
}

// av1Frame handles an AV1 temporal unit ("body contains one or more OBUs
// which represent a single temporal unit"). A sequence header OBU in it
// configures the track (or changes its configuration). The unit is a
// random access point when its first frame is a shown KEY_FRAME, or a
// hidden one next to a sequence header (an encoder's forward key frame);
// a sequence header alone is not enough, as some encoders repeat it on
// inter frames, but a unit with a sequence header and no frame is one.
// Leading temporal delimiters are dropped (AV1-ISOBMFF §2.4: "OBUs of type
// OBU_TEMPORAL_DELIMITER ... SHOULD be removed").
func (d *Demuxer) av1Frame(st *videoState, ts, nano uint32, tu []byte) error {
	var (
		seq               obu
		hasSeq, seenFrame bool
		keyFrame, shown   bool
		start             int
		leading           = true
	)
	for rest := tu; len(rest) > 0; {
		o, next, err := nextOBU(rest)
		if err != nil {
			d.dropMalformed("video", fmt.Errorf("AV1 temporal unit: %w", err))
			return nil
		}
		switch o.typ {
		case obuTemporalDelimiter:
			if leading {
				start = len(tu) - len(next)
			}
		case obuSequenceHeader:
			leading = false
			if !hasSeq {
				seq, hasSeq = o, true
			}
		case obuFrameHeader, obuFrame:
			leading = false
			if !seenFrame {
				seenFrame = true
				reduced := st.av1Reduced
				if hasSeq {
					reduced = av1ReducedStillPicture(seq.payload)
				}
				keyFrame, shown = av1FrameType(o.payload, reduced)
			}
		default:
			leading = false
		}
		rest = next
	}
	if hasSeq {
		if err := d.av1SequenceHeader(st, seq.whole, false); err != nil {
			return err
		}
	}
	payload := tu[start:]
	if len(payload) == 0 {
		return nil // temporal delimiters only
	}
	st.codec = remux.CodecAV1
	if !d.codecMatches(st, remux.CodecAV1) {
		return nil
	}
	key := keyFrame && (shown || hasSeq) || hasSeq && !seenFrame
	d.frame = remux.Frame{Kind: remux.KindVideo, Source: st.source, TS: ts, OffsetNano: nano, Key: key, Payload: payload}
	return d.writeFrame()
}

// vp9Frame handles a VP9 frame ("body contains series of coded full
// frames": a frame or a superframe). Key frames carry the picture size and
// colour format, which configure the track together with the last
// VPCodecConfigurationRecord.
func (d *Demuxer) vp9Frame(st *videoState, ts, nano uint32, frame []byte) error {
	if len(frame) == 0 {
		d.dropMalformed("video", fmt.Errorf("%w: empty VP9 frame", ErrTruncated))
		return nil
	}
	f, err := parseVP9Frame(frame)
	if err != nil {
		d.dropMalformed("video", err)
		return nil
	}
	st.codec = remux.CodecVP9
	if f.key {
		if err := d.vp9Configure(st, f); err != nil {
			return err
		}
	}
	if !d.codecMatches(st, remux.CodecVP9) {
		return nil
	}
	d.frame = remux.Frame{Kind: remux.KindVideo, Source: st.source, TS: ts, OffsetNano: nano, Key: f.key, Payload: frame}
	return d.writeFrame()
}

// vp9Configure sets the VP9 track's configuration from a key frame header
// and the last VPCodecConfigurationRecord, when it differs from the one in
// force. The frame header decides what both carry.
func (d *Demuxer) vp9Configure(st *videoState, f vp9Frame) error {
	c := remux.VP9Config{
		ColourPrimaries:         colourUnspecified,
		TransferCharacteristics: colourUnspecified,
		MatrixCoefficients:      colourUnspecified,
	}
	if st.hasVPCC {
		c = st.vp9
	}
	c.Profile, c.BitDepth, c.FullRange = f.profile, f.bitDepth, f.fullRange
	// 4:2:0 siting (vpcC 0 or 1) is not in the VP9 header: keep the record's.
	if !(f.chromaSubsampling == 1 && st.hasVPCC && c.ChromaSubsampling <= 1) {
		c.ChromaSubsampling = f.chromaSubsampling
	}
	cur := d.r.Track(remux.KindVideo, st.source)
	if cur != nil && cur.Codec == remux.CodecVP9 && cur.VP9 != nil && *cur.VP9 == c &&
		cur.Width == f.width && cur.Height == f.height {
		return nil
	}
	t, err := remux.NewVP9Track(c, f.width, f.height)
	if err != nil {
		d.dropMalformed("video", fmt.Errorf("VP9 key frame: %w", err))
		return nil
	}
	return d.setVideoTrack(st, t)
}
