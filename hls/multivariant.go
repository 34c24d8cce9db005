package hls

import (
	"strconv"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// renderMultivariant builds index.m3u8 with gohlslib's playlist package:
// one variant (the media playlist) described from the real stream.
// RFC 8216 §4.3.4.2 / Apple HLS Authoring 9.1-9.15: BANDWIDTH (peak segment
// bit rate, measured), AVERAGE-BANDWIDTH, CODECS (from the real SPS and
// AudioSpecificConfig), RESOLUTION and FRAME-RATE.
func (v *snapshot) renderMultivariant() *Object {
	cfg := &v.s.m.cfg
	peak, avg := max(v.peakBW, 1), max(v.avgBW, 1)
	variant := &playlist.MultivariantVariant{
		Bandwidth:        peak,
		AverageBandwidth: &avg,
		Codecs:           v.media.codecs,
		URI:              MediaPlaylistName,
	}
	if v.media.hasVideo {
		if v.media.width > 0 && v.media.height > 0 {
			variant.Resolution = strconv.Itoa(v.media.width) + "x" + strconv.Itoa(v.media.height)
		}
		fps := v.frameRate
		if fps == 0 {
			fps = v.media.frameRate
		}
		if fps > 0 {
			variant.FrameRate = &fps
		}
	}
	pl := playlist.Multivariant{
		Version:  playlistVersion(cfg.Variant),
		Variants: []*playlist.MultivariantVariant{variant},
	}
	body, err := pl.Marshal()
	if err != nil {
		// gohlslib's Marshal cannot fail today; keep the request answerable.
		v.s.log.Error().Err(err).Msg("rendering the multivariant playlist")
		body = []byte("#EXTM3U\n")
	}
	return &Object{
		Kind:           KindMultivariant,
		Body:           body,
		ContentType:    contentTypePlaylist,
		ModTime:        v.modTime,
		ETag:           bodyETag(body),
		TargetDuration: time.Duration(v.td) * time.Second,
		Ended:          v.ended(),
	}
}
