package flv

import (
	"math"

	"github.com/livegate/gateway/remux"
)

// maxMetaFrameRate bounds the onMetaData frame rate taken as a hint.
const maxMetaFrameRate = 1000

// maxMetaString bounds a metadata string copied into the log.
const maxMetaString = 128

// Metadata handles the onMetaData object (FLV spec E.5, "onMetaData") as a
// plain map: keys such as width, height, framerate, videocodecid,
// audiocodecid, audiosamplerate, stereo and encoder, with float64, string
// or bool values. The codecs it announces that this demuxer supports tell
// the Remuxer which tracks to wait for (legacy codec ids, or E-RTMP FourCC
// values); framerate fills Track.FrameRate
// when the SPS has no VUI timing; stereo fills the channel count of an AAC
// configuration that defers it to a PCE. Unknown keys and types are ignored.
func (d *Demuxer) Metadata(md map[string]any) error {
	var video, audio bool
	vid, hasVid := metaNumber(md["videocodecid"])
	if hasVid && (vid == codecIDAVC || vid == codecIDHEVC || isFourCC(vid, videoCodecOf)) {
		video = true
		d.r.Announce(remux.KindVideo)
	}
	aid, hasAid := metaNumber(md["audiocodecid"])
	// SoundFormat 14 (MP3 8 kHz) is MPEG-2.5, which is dropped: not awaited.
	if hasAid && (aid == soundFormatAAC || aid == soundFormatMP3 || isFourCC(aid, audioCodecOf)) {
		audio = true
		d.r.Announce(remux.KindAudio)
	}
	for _, k := range [...]string{"framerate", "videoframerate"} {
		if f, ok := md[k].(float64); ok && f > 0 && f <= maxMetaFrameRate {
			d.metaFPS = f
			break
		}
	}
	if s, ok := md["stereo"].(bool); ok {
		d.metaChannels = 1
		if s {
			d.metaChannels = 2
		}
	}
	ev := d.log.Info().Bool("video", video).Bool("audio", audio)
	if hasVid {
		ev = ev.Float64("videocodecid", vid)
	}
	if hasAid {
		ev = ev.Float64("audiocodecid", aid)
	}
	if w, ok := metaNumber(md["width"]); ok {
		ev = ev.Float64("width", w)
	}
	if h, ok := metaNumber(md["height"]); ok {
		ev = ev.Float64("height", h)
	}
	if d.metaFPS > 0 {
		ev = ev.Float64("framerate", d.metaFPS)
	}
	if e, ok := md["encoder"].(string); ok {
		if len(e) > maxMetaString {
			e = e[:maxMetaString]
		}
		ev = ev.Str("encoder", e)
	}
	ev.Msg("stream metadata")
	return nil
}

// isFourCC reports whether a codec id is the FourCC of a supported codec.
// E-RTMP v2 "Enhancing onMetaData": "When [FourCC] is used to signal the
// codec, this property is set to a FOURCC value" (e.g. "av01" ==
// 1635135537.0).
func isFourCC(id float64, codecOf func(FourCC) (remux.Codec, bool)) bool {
	if id < 0 || id > math.MaxUint32 || id != math.Trunc(id) {
		return false
	}
	_, ok := codecOf(FourCC(uint32(id)))
	return ok
}

// metaNumber returns a finite numeric metadata value (AMF0 numbers are
// float64; other numeric types are accepted for callers that convert).
func metaNumber(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint32:
		f = float64(n)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
