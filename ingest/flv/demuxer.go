package flv

import (
	"fmt"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/remux"
)

// FLV spec E.4.3.1 VIDEODATA: FrameType UB[4], CodecID UB[4].
const (
	frameTypeKey     = 1
	frameTypeCommand = 5 // "video info/command frame": no picture

	codecIDAVC = 7
	// codecIDHEVC is not in the FLV specification: legacy encoders (and
	// early OBS builds) use 12 for HEVC with the AVC packet layout.
	codecIDHEVC = 12

	// avcPacketHeader is AVCPacketType UI8 + CompositionTime SI24.
	avcPacketHeader = 5

	avcPacketSequenceHeader = 0
	avcPacketNALU           = 1
	avcPacketEndOfSequence  = 2

	// Enhanced RTMP v1: bit 7 of the first video byte is IsExHeader.
	videoExHeaderBit = 0x80
)

// FLV spec E.4.2.1 AUDIODATA: SoundFormat UB[4] ... then AACAUDIODATA.
const (
	soundFormatAAC = 10
	// Enhanced RTMP v2: SoundFormat 9 is ExHeader (FourCC audio).
	soundFormatExHeader = 9

	aacPacketSequenceHeader = 0
	aacPacketRaw            = 1
)

// legacySource is the remux source id of legacy (non-multitrack) FLV media.
const legacySource = 0

// Stats are a Demuxer's counters. They may be read from any goroutine.
type Stats struct {
	// Messages counts the audio and video messages handled.
	Messages uint64
	// Dropped counts messages (or frames) dropped by the demuxer: malformed,
	// unsupported or unusable. Drops decided by the Remuxer (no
	// configuration yet, DTS going back) are in remux.Stats.
	Dropped uint64
	// Malformed counts the dropped messages that were malformed.
	Malformed uint64
	// Unsupported counts the dropped messages of unsupported codecs or of
	// Enhanced RTMP.
	Unsupported uint64
}

// Demuxer parses the FLV tag bodies of one RTMP publication and feeds the
// Remuxer. It is used from the publisher's goroutine; Stats and Dropped may
// be read from any goroutine.
//
// A returned error is fatal for the publication (the Remuxer or its sink
// failed). Bad frames are not errors: they are dropped, counted and logged
// at Warn with a rate limit.
type Demuxer struct {
	r   *remux.Remuxer
	log zerolog.Logger

	// Video state: the codec and NAL unit length size of the current
	// configuration record.
	videoCodec remux.Codec
	lengthSize int

	nalus         [][]byte // reused for every access unit
	vps, sps, pps [][]byte // reused: in-band parameter sets of one AU

	metaFPS      float64
	metaChannels int

	messages, dropped, malformed, unsupported atomic.Uint64

	malformedWarn   warnLimiter
	inBandWarn      warnLimiter
	keyMismatchWarn warnLimiter
	videoCodecSeen  [16]bool // unsupported codec ids already logged
	soundFormatSeen [16]bool
	exVideoLogged   bool
	exAudioLogged   bool
	adtsLogged      bool
}

// NewDemuxer returns a Demuxer feeding r.
func NewDemuxer(r *remux.Remuxer, log zerolog.Logger) *Demuxer {
	return &Demuxer{r: r, log: log, lengthSize: 4}
}

// Stats returns a snapshot of the counters.
func (d *Demuxer) Stats() Stats {
	return Stats{
		Messages:    d.messages.Load(),
		Dropped:     d.dropped.Load(),
		Malformed:   d.malformed.Load(),
		Unsupported: d.unsupported.Load(),
	}
}

// Dropped returns the number of messages dropped by the demuxer.
func (d *Demuxer) Dropped() uint64 { return d.dropped.Load() }

// Video handles one RTMP video message body (message type 9, an FLV
// VIDEODATA tag body). ts is the RTMP timestamp in milliseconds; body is
// borrowed for the duration of the call.
func (d *Demuxer) Video(ts uint32, body []byte) error {
	d.messages.Add(1)
	if len(body) == 0 {
		d.dropMalformed("video", fmt.Errorf("%w: empty video message", ErrTruncated))
		return nil
	}
	if body[0]&videoExHeaderBit != 0 {
		return d.videoEnhanced(ts, body)
	}
	frameType, codecID := body[0]>>4, body[0]&0x0f
	if frameType == frameTypeCommand {
		return nil // FLV spec E.4.3.1: a UI8 command, no picture
	}
	switch codecID {
	case codecIDAVC:
		return d.videoAVC(ts, body, remux.CodecH264)
	case codecIDHEVC:
		return d.videoAVC(ts, body, remux.CodecH265)
	}
	d.dropUnsupported()
	if !d.videoCodecSeen[codecID] {
		d.videoCodecSeen[codecID] = true
		d.log.Warn().Uint8("codec_id", codecID).Msg("unsupported FLV video codec: its frames are dropped")
	}
	return nil
}

// videoEnhanced handles an Enhanced RTMP video body (IsExHeader set).
// Enhanced RTMP (FourCC codecs, multitrack) is a later task; the body
// layout is recognised so it can be added here.
func (d *Demuxer) videoEnhanced(_ uint32, _ []byte) error {
	d.dropUnsupported()
	if !d.exVideoLogged {
		d.exVideoLogged = true
		d.log.Warn().Msg("enhanced RTMP not supported yet: video dropped")
	}
	return nil
}

// audioEnhanced handles an Enhanced RTMP audio body (SoundFormat 9).
func (d *Demuxer) audioEnhanced(_ uint32, _ []byte) error {
	d.dropUnsupported()
	if !d.exAudioLogged {
		d.exAudioLogged = true
		d.log.Warn().Msg("enhanced RTMP not supported yet: audio dropped")
	}
	return nil
}

// videoAVC handles the AVCVIDEOPACKET layout, shared by AVC and legacy HEVC.
func (d *Demuxer) videoAVC(ts uint32, body []byte, codec remux.Codec) error {
	if len(body) < avcPacketHeader {
		d.dropMalformed("video", fmt.Errorf("%w: %v packet of %d bytes", ErrTruncated, codec, len(body)))
		return nil
	}
	switch body[1] {
	case avcPacketSequenceHeader:
		return d.videoConfig(codec, body[avcPacketHeader:])
	case avcPacketNALU:
		// FLV spec E.4.3.1: "CompositionTime SI24 ... See ISO 14496-12,
		// 8.15.3 for an explanation of composition times. The offset in an
		// FLV file is always in milliseconds." Sign-extend the 24 bits.
		cts := int32(uint32(body[2])<<24|uint32(body[3])<<16|uint32(body[4])<<8) >> 8
		return d.videoFrame(ts, cts, body[0]>>4 == frameTypeKey, codec, body[avcPacketHeader:])
	case avcPacketEndOfSequence:
		d.log.Debug().Stringer("codec", codec).Msg("end of sequence")
		return nil
	}
	d.dropMalformed("video", fmt.Errorf("%w: AVCPacketType %d", ErrPacketType, body[1]))
	return nil
}

// videoConfig handles a decoder configuration record (packet type 0).
func (d *Demuxer) videoConfig(codec remux.Codec, rec []byte) error {
	var (
		t   *remux.Track
		ls  int
		err error
	)
	if codec == remux.CodecH264 {
		var c AVCConfig
		if c, err = ParseAVCConfig(rec); err == nil {
			ls = c.LengthSize
			t, err = remux.NewH264Track(c.SPS, c.PPS)
		}
	} else {
		var c HEVCConfig
		if c, err = ParseHEVCConfig(rec); err == nil {
			ls = c.LengthSize
			t, err = remux.NewH265Track(c.VPS, c.SPS, c.PPS)
		}
	}
	if err != nil {
		d.dropMalformed("video", fmt.Errorf("%v sequence header: %w", codec, err))
		return nil
	}
	d.videoCodec, d.lengthSize = codec, ls
	return d.setVideoTrack(t)
}

func (d *Demuxer) setVideoTrack(t *remux.Track) error {
	if t.FrameRate == 0 {
		t.FrameRate = d.metaFPS
	}
	t.SourceID = legacySource
	return d.r.SetTrack(t)
}

// videoFrame handles an access unit (packet type 1).
func (d *Demuxer) videoFrame(ts uint32, cts int32, keyHint bool, codec remux.Codec, data []byte) error {
	if d.videoCodec != codec {
		// Frames without (or with another codec's) configuration record:
		// the usual 4-byte lengths, and in-band parameter sets may
		// configure the track below.
		d.videoCodec, d.lengthSize = codec, 4
	}
	nalus, err := SplitNALUs(d.nalus, data, d.lengthSize)
	d.nalus = nalus
	defer d.release()
	if err != nil {
		d.dropMalformed("video", fmt.Errorf("%v access unit: %w", codec, err))
		return nil
	}
	d.vps, d.sps, d.pps = d.vps[:0], d.sps[:0], d.pps[:0]
	key := false
	out := nalus[:0] // filtered in place: the write index never passes the read index
	for _, n := range nalus {
		if codec == remux.CodecH264 {
			switch h264Type(n) {
			case h264NALUAUD:
				continue
			case h264NALUSPS:
				d.sps = append(d.sps, n)
				continue
			case h264NALUPPS:
				d.pps = append(d.pps, n)
				continue
			case h264NALUIDR:
				key = true
			}
		} else {
			switch t := h265Type(n); {
			case t == h265NALUAUD:
				continue
			case t == h265NALUVPS:
				d.vps = append(d.vps, n)
				continue
			case t == h265NALUSPS:
				d.sps = append(d.sps, n)
				continue
			case t == h265NALUPPS:
				d.pps = append(d.pps, n)
				continue
			case t >= h265NALUIRAPFirst && t <= h265NALUIRAPLast:
				key = true
			}
		}
		out = append(out, n)
	}
	if len(d.vps)+len(d.sps)+len(d.pps) > 0 {
		err = d.inBand(codec)
	}
	if err == nil && len(out) > 0 {
		if cur := d.r.Track(remux.KindVideo, legacySource); cur != nil && cur.Codec != codec {
			// HEVC frames on an H.264 configuration (or the reverse)
			// would reach the segmenter as garbage.
			d.dropMalformed("video", fmt.Errorf("%w: %v frame but the track is configured as %v",
				ErrCodecMismatch, codec, cur.Codec))
			return nil
		}
		if keyHint != key {
			if ok, n := d.keyMismatchWarn.hit(); ok {
				d.log.Debug().Bool("frame_type_key", keyHint).Bool("idr", key).Uint64("count", n).
					Msg("FLV FrameType disagrees with the NAL units; the NAL units decide")
			}
		}
		err = d.r.WriteVideo(legacySource, ts, cts, key, out)
	}
	return err
}

// release drops the references into the borrowed body kept by the reused
// slices, so it can be recycled or collected.
func (d *Demuxer) release() {
	clear(d.nalus)
	clear(d.vps)
	clear(d.sps)
	clear(d.pps)
}

// inBand handles parameter sets found inside an access unit: copies of
// the current configuration are ignored; new ones are a configuration
// change (or the first configuration of a stream that never sent a
// configuration record). A kind of parameter set absent from the AU keeps
// its current value.
func (d *Demuxer) inBand(codec remux.Codec) error {
	cur := d.r.Track(remux.KindVideo, legacySource)
	if cur != nil && cur.Codec != codec {
		cur = nil
	}
	if cur != nil && allKnown(cur, d.vps) && allKnown(cur, d.sps) && allKnown(cur, d.pps) {
		return nil
	}
	vps, sps, pps := d.vps, d.sps, d.pps
	if cur != nil {
		vps = orCurrent(vps, cur.VPS, cur.ExtraVPS)
		sps = orCurrent(sps, cur.SPS, cur.ExtraSPS)
		pps = orCurrent(pps, cur.PPS, cur.ExtraPPS)
	}
	var (
		t   *remux.Track
		err error
	)
	if codec == remux.CodecH264 {
		t, err = remux.NewH264Track(sps, pps)
	} else {
		t, err = remux.NewH265Track(vps, sps, pps)
	}
	if err != nil {
		// Keep the configuration in force; the frame still goes out.
		if ok, n := d.inBandWarn.hit(); ok {
			d.log.Warn().Err(err).Stringer("codec", codec).Uint64("count", n).
				Msg("unusable in-band parameter sets ignored")
		}
		return nil
	}
	return d.setVideoTrack(t)
}

func allKnown(t *remux.Track, sets [][]byte) bool {
	for _, s := range sets {
		if !t.HasParameterSet(s) {
			return false
		}
	}
	return true
}

// orCurrent returns inBand when the AU carried sets of that kind, else the
// current configuration's (first, then extras).
func orCurrent(inBand [][]byte, first []byte, extra [][]byte) [][]byte {
	if len(inBand) > 0 || first == nil {
		return inBand
	}
	return append([][]byte{first}, extra...)
}

// Audio handles one RTMP audio message body (message type 8, an FLV
// AUDIODATA tag body). ts is the RTMP timestamp in milliseconds; body is
// borrowed for the duration of the call.
func (d *Demuxer) Audio(ts uint32, body []byte) error {
	d.messages.Add(1)
	if len(body) == 0 {
		d.dropMalformed("audio", fmt.Errorf("%w: empty audio message", ErrTruncated))
		return nil
	}
	format := body[0] >> 4
	switch format {
	case soundFormatAAC:
		return d.audioAAC(ts, body)
	case soundFormatExHeader:
		return d.audioEnhanced(ts, body)
	}
	d.dropUnsupported()
	if !d.soundFormatSeen[format] {
		d.soundFormatSeen[format] = true
		d.log.Warn().Uint8("sound_format", format).Msg("unsupported FLV audio format: its frames are dropped")
	}
	return nil
}

// audioAAC handles AACAUDIODATA. FLV spec E.4.2.1: for AAC the SoundRate,
// SoundSize and SoundType bits are to be ignored; the AudioSpecificConfig
// describes the stream.
func (d *Demuxer) audioAAC(ts uint32, body []byte) error {
	if len(body) < 2 {
		d.dropMalformed("audio", fmt.Errorf("%w: AAC packet of %d bytes", ErrTruncated, len(body)))
		return nil
	}
	data := body[2:]
	switch body[1] {
	case aacPacketSequenceHeader:
		t, err := remux.NewAACTrack(data)
		if err != nil {
			d.dropMalformed("audio", fmt.Errorf("AAC sequence header: %w", err))
			return nil
		}
		return d.setAudioTrack(t)
	case aacPacketRaw:
		if isADTS(data) {
			return d.audioADTS(ts, data)
		}
		if len(data) == 0 {
			d.dropMalformed("audio", fmt.Errorf("%w: empty AAC frame", ErrTruncated))
			return nil
		}
		return d.r.WriteAudio(legacySource, ts, data)
	}
	d.dropMalformed("audio", fmt.Errorf("%w: AACPacketType %d", ErrPacketType, body[1]))
	return nil
}

func (d *Demuxer) setAudioTrack(t *remux.Track) error {
	if t.ChannelCount == 0 {
		// channelConfiguration 0: the layout is in a PCE; fall back to
		// the metadata's stereo flag.
		t.ChannelCount = d.metaChannels
	}
	t.SourceID = legacySource
	return d.r.SetTrack(t)
}

func (d *Demuxer) dropMalformed(kind string, err error) {
	d.dropped.Add(1)
	d.malformed.Add(1)
	if ok, n := d.malformedWarn.hit(); ok {
		d.log.Warn().Err(err).Str("media", kind).Uint64("count", n).Msg("malformed FLV body dropped")
	}
}

func (d *Demuxer) dropUnsupported() {
	d.dropped.Add(1)
	d.unsupported.Add(1)
}

// warnLimiter rate-limits a repeated warning: it lets through the 1st,
// 2nd, 4th, 8th... occurrence, each carrying the running count.
type warnLimiter struct{ n uint64 }

func (w *warnLimiter) hit() (bool, uint64) {
	w.n++
	return w.n&(w.n-1) == 0, w.n
}
