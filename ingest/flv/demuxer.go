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
	// Unsupported counts the dropped messages (or tracks of a multitrack
	// message) of unsupported codecs, of tracks beyond MaxTracks, and
	// E-RTMP MPEG2TSSequenceStart.
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

	// Per-track state, legacy FLV being track 0 of each kind.
	videos []*videoState
	audios []*audioState

	frame         remux.Frame // reused for every frame written
	nalus         [][]byte    // reused for every access unit
	vps, sps, pps [][]byte    // reused: in-band parameter sets of one AU

	metaFPS      float64
	metaChannels int

	messages, dropped, malformed, unsupported atomic.Uint64

	malformedWarn   warnLimiter
	inBandWarn      warnLimiter
	keyMismatchWarn warnLimiter
	videoCodecSeen  [16]bool // unsupported codec ids already logged
	soundFormatSeen [16]bool
	fourCCSeen      [maxLoggedFourCCs]FourCC // unsupported FourCCs already logged
	fourCCsLogged   int
	trackLimitWarn  warnLimiter
	modExWarn       warnLimiter
	mpeg2TSLogged   bool
	silenceLogged   bool
	adtsLogged      bool
}

// NewDemuxer returns a Demuxer feeding r.
func NewDemuxer(r *remux.Remuxer, log zerolog.Logger) *Demuxer {
	return &Demuxer{r: r, log: log}
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
		return d.videoAVC(d.videoTrack(legacySource), ts, body, remux.CodecH264)
	case codecIDHEVC:
		return d.videoAVC(d.videoTrack(legacySource), ts, body, remux.CodecH265)
	}
	d.dropUnsupported()
	if !d.videoCodecSeen[codecID] {
		d.videoCodecSeen[codecID] = true
		d.log.Warn().Uint8("codec_id", codecID).Msg("unsupported FLV video codec: its frames are dropped")
	}
	return nil
}

// videoAVC handles the AVCVIDEOPACKET layout, shared by AVC and legacy HEVC.
func (d *Demuxer) videoAVC(st *videoState, ts uint32, body []byte, codec remux.Codec) error {
	if len(body) < avcPacketHeader {
		d.dropMalformed("video", fmt.Errorf("%w: %v packet of %d bytes", ErrTruncated, codec, len(body)))
		return nil
	}
	switch body[1] {
	case avcPacketSequenceHeader:
		return d.videoConfig(st, codec, body[avcPacketHeader:])
	case avcPacketNALU:
		// FLV spec E.4.3.1: "CompositionTime SI24 ... See ISO 14496-12,
		// 8.15.3 for an explanation of composition times. The offset in an
		// FLV file is always in milliseconds."
		return d.videoFrame(st, ts, 0, si24(body[2:]), body[0]>>4 == frameTypeKey, codec, body[avcPacketHeader:])
	case avcPacketEndOfSequence:
		d.log.Debug().Stringer("codec", codec).Msg("end of sequence")
		return nil
	}
	d.dropMalformed("video", fmt.Errorf("%w: AVCPacketType %d", ErrPacketType, body[1]))
	return nil
}

// si24 reads a big-endian signed 24-bit integer (sign-extended).
func si24(b []byte) int32 {
	return int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8) >> 8
}

// videoConfig handles an AVC or HEVC decoder configuration record (legacy
// packet type 0, E-RTMP SequenceStart).
func (d *Demuxer) videoConfig(st *videoState, codec remux.Codec, rec []byte) error {
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
	st.codec, st.lengthSize = codec, ls
	return d.setVideoTrack(st, t)
}

// setVideoTrack completes t with what the stream said outside the codec
// configuration (metadata frame rate, colour information) and sets it.
func (d *Demuxer) setVideoTrack(st *videoState, t *remux.Track) error {
	if t.FrameRate == 0 && st.source == legacySource {
		t.FrameRate = d.metaFPS
	}
	if t.ColorInfo == nil {
		t.ColorInfo = st.colorInfo
	}
	t.SourceID = st.source
	return d.r.SetTrack(t)
}

// videoFrame handles an H.264/H.265 access unit (legacy packet type 1,
// E-RTMP CodedFrames / CodedFramesX of avc1 and hvc1).
func (d *Demuxer) videoFrame(st *videoState, ts, nano uint32, cts int32, keyHint bool, codec remux.Codec, data []byte) error {
	if st.codec != codec {
		// Frames without (or with another codec's) configuration record:
		// the usual 4-byte lengths, and in-band parameter sets may
		// configure the track below.
		st.codec, st.lengthSize = codec, 4
	}
	nalus, err := SplitNALUs(d.nalus, data, st.lengthSize)
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
		err = d.inBand(st, codec)
	}
	if err == nil && len(out) > 0 {
		if !d.codecMatches(st, codec) {
			return nil
		}
		if keyHint != key {
			if ok, n := d.keyMismatchWarn.hit(); ok {
				d.log.Debug().Bool("frame_type_key", keyHint).Bool("idr", key).Uint64("count", n).
					Msg("FLV FrameType disagrees with the NAL units; the NAL units decide")
			}
		}
		d.frame = remux.Frame{Kind: remux.KindVideo, Source: st.source, TS: ts, OffsetNano: nano, CTS: cts, Key: key, NALUs: out}
		err = d.writeFrame()
	}
	return err
}

// codecMatches drops (and reports false for) a frame whose codec differs
// from its track's configuration: such frames would reach the segmenter
// as garbage.
func (d *Demuxer) codecMatches(st *videoState, codec remux.Codec) bool {
	if cur := d.r.Track(remux.KindVideo, st.source); cur != nil && cur.Codec != codec {
		d.dropMalformed("video", fmt.Errorf("%w: %v frame but track %d is configured as %v",
			ErrCodecMismatch, codec, st.source, cur.Codec))
		return false
	}
	return true
}

// writeFrame writes d.frame and releases its borrowed slices.
func (d *Demuxer) writeFrame() error {
	err := d.r.WriteFrame(&d.frame)
	d.frame = remux.Frame{}
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
func (d *Demuxer) inBand(st *videoState, codec remux.Codec) error {
	cur := d.r.Track(remux.KindVideo, st.source)
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
	return d.setVideoTrack(st, t)
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
		// E-RTMP v2: "RTMP includes a previously undocumented "audio
		// silence" message ... an audio message contains a zero-length
		// payload": nothing to write.
		if !d.silenceLogged {
			d.silenceLogged = true
			d.log.Debug().Uint32("ts", ts).Msg("audio silence message")
		}
		return nil
	}
	format := body[0] >> 4
	switch format {
	case soundFormatAAC:
		return d.audioAAC(d.audioTrack(legacySource), ts, body)
	case soundFormatExHeader:
		return d.audioEnhanced(ts, body)
	case soundFormatMP3, soundFormatMP38k:
		return d.audioMP3(d.audioTrack(legacySource), ts, format, body[1:])
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
func (d *Demuxer) audioAAC(st *audioState, ts uint32, body []byte) error {
	if len(body) < 2 {
		d.dropMalformed("audio", fmt.Errorf("%w: AAC packet of %d bytes", ErrTruncated, len(body)))
		return nil
	}
	switch body[1] {
	case aacPacketSequenceHeader:
		return d.aacConfig(st, body[2:])
	case aacPacketRaw:
		if cur := d.r.Track(remux.KindAudio, st.source); cur != nil && cur.Codec != remux.CodecAAC {
			// A switch from MP3 back to AAC comes with a new
			// AudioSpecificConfig; until then the frames cannot be used.
			d.dropMalformed("audio", fmt.Errorf("%w: AAC frame but track %d is configured as %v",
				ErrCodecMismatch, st.source, cur.Codec))
			return nil
		}
		return d.aacFrame(st, ts, 0, body[2:])
	}
	d.dropMalformed("audio", fmt.Errorf("%w: AACPacketType %d", ErrPacketType, body[1]))
	return nil
}

// aacConfig handles an AudioSpecificConfig (legacy AACPacketType 0, E-RTMP
// mp4a SequenceStart).
func (d *Demuxer) aacConfig(st *audioState, asc []byte) error {
	t, err := remux.NewAACTrack(asc)
	if err != nil {
		d.dropMalformed("audio", fmt.Errorf("AAC sequence header: %w", err))
		return nil
	}
	return d.setAudioTrack(st, t)
}

// aacFrame handles a raw AAC frame (legacy AACPacketType 1, E-RTMP mp4a
// CodedFrames).
func (d *Demuxer) aacFrame(st *audioState, ts, nano uint32, data []byte) error {
	if isADTS(data) {
		return d.audioADTS(st, ts, data)
	}
	if len(data) == 0 {
		d.dropMalformed("audio", fmt.Errorf("%w: empty AAC frame", ErrTruncated))
		return nil
	}
	return d.writeAudio(st, ts, nano, data)
}

// writeAudio writes one audio frame of st's track.
func (d *Demuxer) writeAudio(st *audioState, ts, nano uint32, payload []byte) error {
	d.frame = remux.Frame{Kind: remux.KindAudio, Source: st.source, TS: ts, OffsetNano: nano, Payload: payload}
	return d.writeFrame()
}

// setAudioTrack completes t with what the stream said outside the codec
// configuration (metadata channel count, MultichannelConfig) and sets it.
func (d *Demuxer) setAudioTrack(st *audioState, t *remux.Track) error {
	if t.ChannelCount == 0 && st.source == legacySource {
		// channelConfiguration 0: the layout is in a PCE; fall back to
		// the metadata's stereo flag.
		t.ChannelCount = d.metaChannels
	}
	if t.ChannelCount == 0 && st.layout != nil {
		t.ChannelCount = st.layout.Count
	}
	if t.ChannelLayout == nil && st.layout != nil {
		t = t.WithChannelLayout(st.layout)
	}
	t.SourceID = st.source
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
