package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/flv/flvfile"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// headerLen is the length of the type 0 chunk message header we put in
// front of every media message: a 1-byte basic header (chunk stream ids
// below 64) and the 11-byte type 0 header (RTMP spec 5.3.1.2.1).
const headerLen = 1 + 11

// maxTimestamp is the largest timestamp a 3-byte chunk header field can carry
// without an Extended Timestamp (RTMP spec 5.3.1.3). The pre-built
// continuation chunks carry no Extended Timestamp, so every timestamp we send
// must stay below it: 0xFFFFFF ms is 4 h 39 min, far above maxDuration.
const maxTimestamp = 0xFFFFFF - 1

// clipTag is one media message of the clip, ready to send.
type clipTag struct {
	// csid and typ are the chunk stream id and RTMP message type.
	csid uint32
	typ  chunk.MessageType
	// offset is the message time in milliseconds from the first media tag.
	offset uint32
	// length is the message payload length.
	length uint32
	// body is the chunked payload without its first header: the first chunk
	// of data, then type 3 continuation chunks. It depends neither on the
	// timestamp nor on the message stream id, so every stream shares it.
	body []byte
	// config marks a sequence header (decoder configuration), sent only in
	// the first pass over the clip.
	config bool
}

// clip is an FLV file prepared for replay.
type clip struct {
	// metadata is the body of an @setDataFrame data message carrying the
	// file's onMetaData, or nil when the file has none.
	metadata []byte
	// tags are the media messages in file order.
	tags []clipTag
	// period is the length of one pass in milliseconds: the offset at which
	// the second pass starts, so timestamps continue without a gap or an
	// overlap.
	period uint32
	// payloadBytes is the sum of the media payloads of one pass (config tags
	// excluded): the basis of the nominal bitrate.
	payloadBytes int64
}

// bitrate is the nominal media bitrate of the clip in bit/s.
func (c *clip) bitrate() float64 {
	return float64(c.payloadBytes) * 8 / (float64(c.period) / 1000)
}

// loadClip reads an FLV file and pre-chunks its media tags with chunkSize.
func loadClip(path string, chunkSize uint32) (*clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readClip(f, chunkSize)
}

// readClip is loadClip on a reader.
func readClip(r io.Reader, chunkSize uint32) (*clip, error) {
	if chunkSize < 128 || chunkSize > 1<<20 {
		return nil, fmt.Errorf("chunk size %d out of range 128..1048576", chunkSize)
	}
	_, tags, err := flvfile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading FLV: %w", err)
	}
	c := &clip{}
	var (
		base      uint32
		haveBase  bool
		last      = map[flvfile.TagType]uint32{}
		deltas    = map[flvfile.TagType]map[uint32]int{}
		haveMedia = map[flvfile.TagType]bool{}
	)
	for _, t := range tags {
		switch t.Type {
		case flvfile.TagScript:
			if c.metadata == nil {
				if name, _, err := flvfile.ParseScript(t.Data); err == nil && name == "onMetaData" {
					// The file holds "onMetaData", {...}; on the wire an
					// encoder sends "@setDataFrame", "onMetaData", {...}.
					md, err := amf.Marshal("@setDataFrame")
					if err != nil {
						return nil, err
					}
					c.metadata = append(md, t.Data...)
				}
			}
			continue
		case flvfile.TagAudio, flvfile.TagVideo:
		default:
			continue
		}
		if len(t.Data) == 0 || isEndOfSequence(t) {
			// An end-of-sequence tag (FFmpeg writes one at the end of an
			// H.264 file) would tell the gateway the stream ends mid-loop.
			continue
		}
		if !haveBase {
			base, haveBase = t.Timestamp, true
		}
		if t.Timestamp < base {
			return nil, fmt.Errorf("tag at %d ms before the first media tag at %d ms", t.Timestamp, base)
		}
		off := t.Timestamp - base
		cfg := isSequenceHeader(t)
		if !cfg {
			if haveMedia[t.Type] && off > last[t.Type] {
				if deltas[t.Type] == nil {
					deltas[t.Type] = map[uint32]int{}
				}
				deltas[t.Type][off-last[t.Type]]++
			}
			last[t.Type], haveMedia[t.Type] = off, true
			c.payloadBytes += int64(len(t.Data))
		}
		if len(t.Data) > 0xFFFFFF {
			return nil, fmt.Errorf("tag of %d bytes exceeds the 24-bit message length", len(t.Data))
		}
		csid := uint32(rtmptest.CSIDVideo)
		if t.Type == flvfile.TagAudio {
			csid = rtmptest.CSIDAudio
		}
		c.tags = append(c.tags, clipTag{
			csid:   csid,
			typ:    chunk.MessageType(t.Type),
			offset: off,
			length: uint32(len(t.Data)),
			body:   chunkBody(t.Data, csid, chunkSize),
			config: cfg,
		})
	}
	if !haveMedia[flvfile.TagAudio] && !haveMedia[flvfile.TagVideo] {
		return nil, errors.New("no audio or video tags")
	}
	// A pass lasts until the end of its last frame: the last timestamp of
	// each track plus that track's usual frame interval.
	for typ, ok := range haveMedia {
		if ok {
			c.period = max(c.period, last[typ]+commonDelta(deltas[typ]))
		}
	}
	if c.period == 0 {
		return nil, errors.New("clip has zero duration")
	}
	return c, nil
}

// commonDelta returns the most frequent interval between consecutive tags
// of a track (its frame duration), or 0 without one.
func commonDelta(h map[uint32]int) uint32 {
	keys := make([]uint32, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var best uint32
	n := 0
	for _, k := range keys {
		if h[k] > n {
			best, n = k, h[k]
		}
	}
	return best
}

// chunkBody splits payload into chunks of chunkSize on chunk stream csid,
// leaving out the first chunk's header: the data of the first chunk, then
// for each further chunk a type 3 basic header and its data (RTMP spec
// 5.3.1.2.4).
func chunkBody(payload []byte, csid, chunkSize uint32) []byte {
	n := len(payload)
	extra := 0
	if n > 0 {
		extra = (n - 1) / int(chunkSize)
	}
	out := make([]byte, 0, n+extra)
	for len(payload) > 0 {
		k := min(len(payload), int(chunkSize))
		out = append(out, payload[:k]...)
		payload = payload[k:]
		if len(payload) > 0 {
			out = append(out, 3<<6|byte(csid))
		}
	}
	return out
}

// putHeader writes the type 0 chunk header of t at timestamp ts on message
// stream streamID into h (RTMP spec 5.3.1.2.1: timestamp and length are big
// endian, the message stream id little endian).
func putHeader(h *[headerLen]byte, t *clipTag, ts, streamID uint32) {
	h[0] = byte(t.csid) // format 0
	h[1], h[2], h[3] = byte(ts>>16), byte(ts>>8), byte(ts)
	h[4], h[5], h[6] = byte(t.length>>16), byte(t.length>>8), byte(t.length)
	h[7] = byte(t.typ)
	h[8], h[9], h[10], h[11] = byte(streamID), byte(streamID>>8), byte(streamID>>16), byte(streamID>>24)
}

// Codec and packet type values of the FLV tag headers (FLV spec E.4.2.1 and
// E.4.3.1, Enhanced RTMP v2).
const (
	soundFormatAAC      = 10
	soundFormatExHeader = 9 // E-RTMP: the low nibble is an AudioPacketType
	codecAVC            = 7
	codecHEVCLegacy     = 12 // the non-standard FourCC-less HEVC of some forks
	avcSequenceHeader   = 0
	avcEndOfSequence    = 2
	exSequenceStart     = 0 // E-RTMP PacketTypeSequenceStart
	exSequenceEnd       = 2 // E-RTMP PacketTypeSequenceEnd
)

// isSequenceHeader reports whether t carries a decoder configuration.
func isSequenceHeader(t flvfile.Tag) bool {
	d := t.Data
	switch t.Type {
	case flvfile.TagVideo:
		if d[0]&0x80 != 0 { // E-RTMP IsExHeader
			return d[0]&0x0f == exSequenceStart
		}
		codec := d[0] & 0x0f
		return (codec == codecAVC || codec == codecHEVCLegacy) && len(d) > 1 && d[1] == avcSequenceHeader
	case flvfile.TagAudio:
		switch d[0] >> 4 {
		case soundFormatAAC:
			return len(d) > 1 && d[1] == 0 // AACPacketType 0: AudioSpecificConfig
		case soundFormatExHeader:
			return d[0]&0x0f == exSequenceStart
		}
	}
	return false
}

// isEndOfSequence reports whether t is a video end-of-sequence marker.
func isEndOfSequence(t flvfile.Tag) bool {
	if t.Type != flvfile.TagVideo || len(t.Data) == 0 {
		return false
	}
	d := t.Data
	if d[0]&0x80 != 0 {
		return d[0]&0x0f == exSequenceEnd
	}
	codec := d[0] & 0x0f
	return (codec == codecAVC || codec == codecHEVCLegacy) && len(d) > 1 && d[1] == avcEndOfSequence
}
