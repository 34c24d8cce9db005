package flv

import (
	"github.com/livegate/gateway/remux"
)

// MaxTracks bounds the E-RTMP multitrack tracks of each kind a publication
// may open besides track 0: each becomes a segmenter rendition, and a
// hostile publisher could otherwise name 256 track ids of each kind.
const MaxTracks = 8

// maxLoggedFourCCs bounds the distinct unsupported FourCCs logged.
const maxLoggedFourCCs = 8

// videoState is the demuxer's state for one video track (E-RTMP track id
// source; legacy FLV video is source 0).
type videoState struct {
	source int
	// codec is the codec of the configuration in force, or of the frames
	// seen without one.
	codec remux.Codec
	// lengthSize is the NAL unit length size of the H.264/H.265
	// configuration record.
	lengthSize int
	// av1Reduced is reduced_still_picture_header of the AV1 sequence
	// header in force.
	av1Reduced bool
	// vp9 is the last VPCodecConfigurationRecord, applied at the next key
	// frame (hasVPCC false: none received).
	vp9     remux.VP9Config
	hasVPCC bool
	// colorInfo is the last E-RTMP colorInfo metadata (nil: none or reset).
	colorInfo *remux.ColorInfo
}

// audioState is the demuxer's state for one audio track.
type audioState struct {
	source int
	// layout is the last E-RTMP MultichannelConfig (nil: none).
	layout *remux.ChannelLayout
}

// videoTrack returns the state of video track source, creating it; nil
// when the track limit is reached.
func (d *Demuxer) videoTrack(source int) *videoState {
	for _, st := range d.videos {
		if st.source == source {
			return st
		}
	}
	if source != legacySource && countMultitrack(d.videos, func(st *videoState) int { return st.source }) >= MaxTracks {
		d.trackLimit("video", source)
		return nil
	}
	st := &videoState{source: source, lengthSize: 4}
	d.videos = append(d.videos, st)
	return st
}

// audioTrack returns the state of audio track source, creating it; nil
// when the track limit is reached.
func (d *Demuxer) audioTrack(source int) *audioState {
	for _, st := range d.audios {
		if st.source == source {
			return st
		}
	}
	if source != legacySource && countMultitrack(d.audios, func(st *audioState) int { return st.source }) >= MaxTracks {
		d.trackLimit("audio", source)
		return nil
	}
	st := &audioState{source: source}
	d.audios = append(d.audios, st)
	return st
}

// countMultitrack counts the track states other than track 0.
func countMultitrack[S any](states []S, source func(S) int) int {
	n := 0
	for _, st := range states {
		if source(st) != legacySource {
			n++
		}
	}
	return n
}

func (d *Demuxer) trackLimit(kind string, source int) {
	d.dropUnsupported()
	if ok, n := d.trackLimitWarn.hit(); ok {
		d.log.Warn().Str("media", kind).Int("track_id", source).Int("max_tracks", MaxTracks).Uint64("count", n).
			Msg("too many E-RTMP tracks: this track is dropped")
	}
}

// unsupportedFourCC drops a track of a codec this demuxer does not handle
// and logs each such FourCC once.
func (d *Demuxer) unsupportedFourCC(kind string, f FourCC) {
	d.dropUnsupported()
	for _, seen := range d.fourCCSeen[:d.fourCCsLogged] {
		if seen == f {
			return
		}
	}
	if d.fourCCsLogged < len(d.fourCCSeen) {
		d.fourCCSeen[d.fourCCsLogged] = f
		d.fourCCsLogged++
		d.log.Warn().Str("media", kind).Stringer("fourcc", f).Msg("unsupported E-RTMP codec: its frames are dropped")
	}
}
