package ingest

import (
	"strings"

	"github.com/livegate/gateway/ingest/amf"
)

// E-RTMP v2 "Enhancing NetConnection connect Command": FourCcInfoMask
// ("CanDecode = 0x01, CanEncode = 0x02, CanForward = 0x04") and CapsExMask
// ("Reconnect = 0x01, Multitrack = 0x02, ModEx = 0x04, TimestampNanoOffset
// = 0x08").
const (
	fourCCCanDecode  = 0x01
	fourCCCanForward = 0x04

	capsExReconnect           = 0x01
	capsExMultitrack          = 0x02
	capsExModEx               = 0x04
	capsExTimestampNanoOffset = 0x08
)

// ingestFourCCFlags is what this server does with a codec it ingests: it
// understands the bitstream (configuration records, key frames) and
// forwards it, repackaged, to HLS.
const ingestFourCCFlags = fourCCCanDecode | fourCCCanForward

// serverCapsEx is the capsEx this server announces: it demuxes every
// multitrack layout, parses ModEx prefixes and applies TimestampOffsetNano.
// It never sends NetConnection.Connect.ReconnectRequest, so no Reconnect.
const serverCapsEx = capsExMultitrack | capsExModEx | capsExTimestampNanoOffset

// The codecs the FLV demuxer ingests, by E-RTMP FourCC, in the order they
// are announced.
var (
	ingestVideoFourCCs = []string{"avc1", "hvc1", "av01", "vp09"}
	ingestAudioFourCCs = []string{"mp4a", "Opus", "fLaC", "ac-3", "ec-3", ".mp3"}
)

// fourCCWildcard is E-RTMP's "catch-all for any codec".
const fourCCWildcard = "*"

// ertmpCaps is what a client's connect command object says about Enhanced
// RTMP.
type ertmpCaps struct {
	// present is true when the client sent any E-RTMP property.
	present bool
	// fourCCList, videoMap and audioMap are the client's fourCcList,
	// videoFourCcInfoMap and audioFourCcInfoMap (nil when absent).
	fourCCList         []string
	videoMap, audioMap amf.Object
	hasList            bool
	hasVideo, hasAudio bool
	capsEx             float64
	hasCapsEx          bool
}

// parseERTMPCaps reads the E-RTMP properties of a connect command object.
// Values of the wrong type are ignored (E-RTMP v2: "when ... reading or
// decoding AMF data, you should be prepared to handle either ECMA Array or
// Object").
func parseERTMPCaps(obj amf.Object) ertmpCaps {
	var c ertmpCaps
	if v, ok := obj.Get("fourCcList"); ok {
		if list, ok := v.([]any); ok {
			c.hasList = true
			for _, e := range list {
				if s, ok := e.(string); ok && len(c.fourCCList) < maxClientFourCCs {
					c.fourCCList = append(c.fourCCList, s)
				}
			}
		}
	}
	c.videoMap, c.hasVideo = obj.GetObject("videoFourCcInfoMap")
	c.audioMap, c.hasAudio = obj.GetObject("audioFourCcInfoMap")
	c.capsEx, c.hasCapsEx = obj.GetNumber("capsEx")
	c.present = c.hasList || c.hasVideo || c.hasAudio || c.hasCapsEx
	return c
}

// maxClientFourCCs bounds the client's fourCcList entries considered.
const maxClientFourCCs = 64

// offers reports whether the client declared codec f: in fourCcList or one
// of the info maps, by name (case-insensitively: the specification's own
// examples spell "Hvc1" and "Aac") or by wildcard. A client that declared
// no codec at all is taken to accept what the server announces.
func (c ertmpCaps) offers(f string, m amf.Object, hasMap bool) bool {
	if !c.hasList && !c.hasVideo && !c.hasAudio {
		return true
	}
	match := func(s string) bool { return s == fourCCWildcard || strings.EqualFold(s, f) }
	for _, s := range c.fourCCList {
		if match(s) {
			return true
		}
	}
	if hasMap {
		for _, p := range m {
			if match(p.Key) {
				return true
			}
		}
	}
	return false
}

// reply returns the properties the connect _result adds for an E-RTMP
// client (nil for a legacy client): the codecs both sides know, as
// fourCcList and as info maps with this server's capability flags, and
// capsEx. E-RTMP v2: "During the response, the server provides some
// properties within an Object as one of the parameters. This is where the
// server needs to state its support for E-RTMP ... via attributes such as
// videoFourCcInfoMap, capsEx, and similar properties."
func (c ertmpCaps) reply() amf.Object {
	if !c.present {
		return nil
	}
	var (
		list         []any
		video, audio amf.Object
	)
	for _, f := range ingestVideoFourCCs {
		if c.offers(f, c.videoMap, c.hasVideo) {
			list = append(list, f)
			video = append(video, amf.Property{Key: f, Value: ingestFourCCFlags})
		}
	}
	for _, f := range ingestAudioFourCCs {
		if c.offers(f, c.audioMap, c.hasAudio) {
			list = append(list, f)
			audio = append(audio, amf.Property{Key: f, Value: ingestFourCCFlags})
		}
	}
	if list == nil {
		list = []any{}
	}
	if video == nil {
		video = amf.Object{}
	}
	if audio == nil {
		audio = amf.Object{}
	}
	return amf.Object{
		{Key: "fourCcList", Value: list},
		{Key: "videoFourCcInfoMap", Value: video},
		{Key: "audioFourCcInfoMap", Value: audio},
		{Key: "capsEx", Value: serverCapsEx},
	}
}
