// Package ertmp builds Enhanced RTMP (E-RTMP v2) media messages for tests:
// ExVideoTagHeader / ExAudioTagHeader with FourCC codecs, every packet type,
// ModEx TimestampOffsetNano prefixes and the three multitrack layouts. It
// reads real bitstreams encoded by ffmpeg (MPEG-TS H.265, IVF AV1/VP9, Ogg
// Opus, ADTS AAC, raw AC-3 / E-AC-3 / MP3), builds their configuration
// records, and publishes the result through an rtmptest.Client.
//
// It is written from the specification (veovera enhanced-rtmp v2) and knows
// nothing of the gateway's demuxer, so tests that use it check the demuxer
// against an independent encoder.
package ertmp

import (
	"encoding/binary"
	"sort"
	"time"
)

// FourCCs of E-RTMP v2 ("VideoFourCc", "AudioFourCc").
const (
	AVC  = "avc1"
	HEVC = "hvc1"
	AV1  = "av01"
	VP9  = "vp09"
	VP8  = "vp08"
	AAC  = "mp4a"
	Opus = "Opus"
	FLAC = "fLaC"
	AC3  = "ac-3"
	EAC3 = "ec-3"
	MP3  = ".mp3"
)

// VideoFrameType values (E-RTMP v2 "VideoFrameType").
const (
	FrameKey     byte = 1
	FrameInter   byte = 2
	FrameCommand byte = 5
)

// VideoPacketType values.
const (
	VideoSequenceStart        byte = 0
	VideoCodedFrames          byte = 1
	VideoSequenceEnd          byte = 2
	VideoCodedFramesX         byte = 3
	VideoMetadata             byte = 4
	VideoMPEG2TSSequenceStart byte = 5
	VideoMultitrack           byte = 6
	VideoModEx                byte = 7
)

// AudioPacketType values.
const (
	AudioSequenceStart      byte = 0
	AudioCodedFrames        byte = 1
	AudioSequenceEnd        byte = 2
	AudioMultichannelConfig byte = 4
	AudioMultitrack         byte = 5
	AudioModEx              byte = 7
)

// AvMultitrackType values.
const (
	OneTrack             byte = 0
	ManyTracks           byte = 1
	ManyTracksManyCodecs byte = 2
)

// Header bits: IsExHeader for video, SoundFormat ExHeader (9) for audio.
const (
	videoExHeader byte = 0x80
	audioExHeader byte = 9 << 4
)

// modExTimestampOffsetNano is VideoPacketModExType / AudioPacketModExType
// TimestampOffsetNano.
const modExTimestampOffsetNano = 0

// Header is the ExVideoTagHeader / ExAudioTagHeader of one message.
type Header struct {
	// FrameType is the VideoFrameType (video only).
	FrameType byte
	// PacketType is the packet type of every track.
	PacketType byte
	// NanoOffset, when not 0, adds a ModEx TimestampOffsetNano prefix.
	NanoOffset uint32
	// ModEx are extra raw ModEx prefixes (type, data) put before
	// NanoOffset's, to exercise unknown types and 16-bit sizes.
	ModEx []ModEx
	// Multitrack selects the multitrack form with MultitrackType; false
	// is the plain single-track form.
	Multitrack     bool
	MultitrackType byte
	// FourCC is the codec of the message (all but ManyTracksManyCodecs).
	FourCC string
	// Command is the VideoCommand byte of a command frame (FrameType 5,
	// video only).
	Command byte
}

// ModEx is one raw ModEx prefix.
type ModEx struct {
	Type byte
	Data []byte
}

// TrackBody is one track of a multitrack message.
type TrackBody struct {
	FourCC string // ManyTracksManyCodecs only
	ID     uint8
	Body   []byte
}

// AppendVideo appends a video message: the ExVideoTagHeader h, then body
// (single track) or tracks (multitrack).
func AppendVideo(dst []byte, h Header, body []byte, tracks ...TrackBody) []byte {
	return appendMessage(dst, true, h, body, tracks)
}

// AppendAudio appends an audio message.
func AppendAudio(dst []byte, h Header, body []byte, tracks ...TrackBody) []byte {
	return appendMessage(dst, false, h, body, tracks)
}

func appendMessage(dst []byte, video bool, h Header, body []byte, tracks []TrackBody) []byte {
	first := audioExHeader
	modEx, multitrack := AudioModEx, AudioMultitrack
	if video {
		first = videoExHeader | (h.FrameType&0x07)<<4
		modEx, multitrack = VideoModEx, VideoMultitrack
	}
	// The packet type that follows each prefix: the next prefix's ModEx,
	// then Multitrack or the packet type itself.
	next := h.PacketType
	if h.Multitrack {
		next = multitrack
	}
	type prefix struct {
		typ  byte
		data []byte
	}
	var prefixes []prefix
	for _, m := range h.ModEx {
		prefixes = append(prefixes, prefix{m.Type, m.Data})
	}
	if h.NanoOffset != 0 {
		n := h.NanoOffset
		prefixes = append(prefixes, prefix{modExTimestampOffsetNano, []byte{byte(n >> 16), byte(n >> 8), byte(n)}})
	}
	if len(prefixes) > 0 {
		dst = append(dst, first|modEx)
		for i, p := range prefixes {
			// E-RTMP v2: "modExDataSize = UI8 + 1; if (modExDataSize == 256)
			// modExDataSize = UI16 + 1".
			if len(p.data) >= 256 {
				dst = append(dst, 0xff)
				dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.data)-1))
			} else {
				dst = append(dst, byte(len(p.data)-1))
			}
			dst = append(dst, p.data...)
			nt := next
			if i < len(prefixes)-1 {
				nt = modEx
			}
			dst = append(dst, p.typ<<4|nt)
		}
	} else {
		dst = append(dst, first|next)
	}
	if video && h.FrameType == FrameCommand && h.PacketType != VideoMetadata {
		return append(dst, h.Command)
	}
	if h.Multitrack {
		dst = append(dst, h.MultitrackType<<4|h.PacketType)
	}
	if !h.Multitrack || h.MultitrackType != ManyTracksManyCodecs {
		dst = append(dst, h.FourCC...)
	}
	if !h.Multitrack {
		return append(dst, body...)
	}
	for _, t := range tracks {
		if h.MultitrackType == ManyTracksManyCodecs {
			dst = append(dst, t.FourCC...)
		}
		dst = append(dst, t.ID)
		if h.MultitrackType != OneTrack {
			n := len(t.Body)
			dst = append(dst, byte(n>>16), byte(n>>8), byte(n))
		}
		dst = append(dst, t.Body...)
	}
	return dst
}

// CodedFramesBody is the body of avc1/hvc1 CodedFrames: "compositionTimeOffset
// = SI24", then the length-prefixed NAL units.
func CodedFramesBody(cts int32, data []byte) []byte {
	b := []byte{byte(cts >> 16), byte(cts >> 8), byte(cts)}
	return append(b, data...)
}

// Frame is one coded frame of a track.
type Frame struct {
	// DTS and PTS are the decode and presentation times (exact; the
	// message carries milliseconds plus a nanosecond ModEx offset when
	// enabled).
	DTS, PTS time.Duration
	// Key marks a random access point.
	Key bool
	// Data is the frame as E-RTMP carries it: 4-byte length-prefixed NAL
	// units (avc1, hvc1), a temporal unit (av01), a frame (vp09), a
	// packet or frames (audio).
	Data []byte
}

// Track is one elementary stream ready for E-RTMP.
type Track struct {
	// Video says the track is video.
	Video bool
	// FourCC is the codec.
	FourCC string
	// ID is the E-RTMP track id (multitrack layouts).
	ID uint8
	// Header is the SequenceStart body (configuration record, OpusHead,
	// AudioSpecificConfig, STREAMINFO); nil for codecs without one.
	Header []byte
	// Frames are the frames in decode order.
	Frames []Frame
}

// Layout says how tracks become messages.
type Layout int

// Layouts.
const (
	// Single is the plain form: every message carries one track, id 0
	// (Track.ID is ignored: use one track of each kind).
	Single Layout = iota
	// LayoutOneTrack wraps every frame in a Multitrack OneTrack message.
	LayoutOneTrack
	// LayoutManyTracks puts the frames of one kind and codec that share a
	// timestamp in one ManyTracks message.
	LayoutManyTracks
	// LayoutManyTracksManyCodecs puts the frames of one kind that share a
	// timestamp in one ManyTracksManyCodecs message.
	LayoutManyTracksManyCodecs
)

// Message is one RTMP media message.
type Message struct {
	Video bool
	// Timestamp is the RTMP timestamp in milliseconds.
	Timestamp uint32
	Body      []byte
}

// Options tune Messages.
type Options struct {
	// NanoOffsets adds a ModEx TimestampOffsetNano to messages whose DTS
	// is not a whole millisecond.
	NanoOffsets bool
	// CodedFramesX sends avc1/hvc1 frames whose composition offset is 0 as
	// CodedFramesX.
	CodedFramesX bool
}

// item is one frame (or sequence start) waiting to be put in a message.
type item struct {
	t     *Track
	frame *Frame // nil for the sequence start
}

// Messages turns tracks into timestamped messages in layout: first every
// sequence start, then the frames in DTS order (video before audio at equal
// times).
func Messages(layout Layout, opts Options, tracks ...*Track) []Message {
	var out []Message
	// Sequence starts at time 0, video first.
	var starts []item
	for _, t := range tracks {
		if t.Header != nil {
			starts = append(starts, item{t: t})
		}
	}
	sort.SliceStable(starts, func(i, j int) bool { return starts[i].t.Video && !starts[j].t.Video })
	out = append(out, group(layout, opts, starts)...)

	var frames []item
	for _, t := range tracks {
		for i := range t.Frames {
			frames = append(frames, item{t: t, frame: &t.Frames[i]})
		}
	}
	sort.SliceStable(frames, func(i, j int) bool {
		a, b := frames[i], frames[j]
		if a.frame.DTS != b.frame.DTS {
			return a.frame.DTS < b.frame.DTS
		}
		return a.t.Video && !b.t.Video
	})
	// Group runs of equal DTS.
	for i := 0; i < len(frames); {
		j := i + 1
		for j < len(frames) && frames[j].frame.DTS == frames[i].frame.DTS {
			j++
		}
		out = append(out, group(layout, opts, frames[i:j])...)
		i = j
	}
	return out
}

// group builds the messages of items sharing a timestamp.
func group(layout Layout, opts Options, items []item) []Message {
	var out []Message
	if layout == Single || layout == LayoutOneTrack {
		for _, it := range items {
			out = append(out, build(layout, opts, []item{it}))
		}
		return out
	}
	// Many-track layouts: one message per kind (and per codec for
	// ManyTracks) and per packet type.
	type key struct {
		video  bool
		fourCC string
		pt     byte
	}
	var order []key
	byKey := map[key][]item{}
	for _, it := range items {
		k := key{video: it.t.Video, pt: packetType(opts, it)}
		if layout == LayoutManyTracks {
			k.fourCC = it.t.FourCC
		}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], it)
	}
	for _, k := range order {
		out = append(out, build(layout, opts, byKey[k]))
	}
	return out
}

// packetType is the packet type an item is sent with.
func packetType(opts Options, it item) byte {
	if it.frame == nil {
		return VideoSequenceStart // == AudioSequenceStart
	}
	if it.t.Video && opts.CodedFramesX && hasCTS(it.t.FourCC) && ctsOf(it.frame) == 0 {
		return VideoCodedFramesX
	}
	return VideoCodedFrames // == AudioCodedFrames
}

func hasCTS(fourCC string) bool { return fourCC == AVC || fourCC == HEVC }

// split returns the millisecond timestamp and nanosecond remainder of d.
func split(d time.Duration) (uint32, uint32) {
	ms := d / time.Millisecond
	return uint32(ms), uint32(d - ms*time.Millisecond)
}

// ctsOf is the composition offset in whole milliseconds, rounded.
func ctsOf(f *Frame) int32 {
	return int32((f.PTS - f.DTS + time.Millisecond/2).Milliseconds())
}

// build makes one message of items of the same kind and timestamp.
func build(layout Layout, opts Options, items []item) Message {
	first := items[0]
	m := Message{Video: first.t.Video}
	h := Header{PacketType: packetType(opts, first), FourCC: first.t.FourCC, FrameType: FrameKey}
	if first.frame != nil {
		ts, nano := split(first.frame.DTS)
		m.Timestamp = ts
		if opts.NanoOffsets {
			h.NanoOffset = nano
		}
	}
	for _, it := range items {
		if it.frame != nil && !it.frame.Key {
			h.FrameType = FrameInter
		}
	}
	body := func(it item) []byte {
		if it.frame == nil {
			return it.t.Header
		}
		if it.t.Video && hasCTS(it.t.FourCC) && h.PacketType == VideoCodedFrames {
			return CodedFramesBody(ctsOf(it.frame), it.frame.Data)
		}
		return it.frame.Data
	}
	if layout == Single {
		m.Body = appendMessage(nil, m.Video, h, body(first), nil)
		return m
	}
	h.Multitrack = true
	switch layout {
	case LayoutOneTrack:
		h.MultitrackType = OneTrack
	case LayoutManyTracks:
		h.MultitrackType = ManyTracks
	default:
		h.MultitrackType = ManyTracksManyCodecs
	}
	tracks := make([]TrackBody, len(items))
	for i, it := range items {
		tracks[i] = TrackBody{FourCC: it.t.FourCC, ID: it.t.ID, Body: body(it)}
	}
	m.Body = appendMessage(nil, m.Video, h, nil, tracks)
	return m
}
