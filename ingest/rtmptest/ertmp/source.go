package ertmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/ac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/eac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg1audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
)

// ErrNoFrames is returned by the readers for a file without usable frames.
var ErrNoFrames = errors.New("ertmp: no frames")

// Encode runs ffmpeg with args (inputs, codecs, output format) writing to
// out, and returns out. It is a convenience for tests, which skip when
// ffmpeg is missing.
func Encode(out string, args ...string) (string, error) {
	a := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	a = append(a, out)
	if b, err := exec.Command("ffmpeg", a...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ertmp: ffmpeg: %w\n%s", err, b)
	}
	return out, nil
}

// at90k converts a 90 kHz timestamp to a duration.
func at90k(ts int64) time.Duration { return time.Duration(ts) * time.Second / 90000 }

// ReadMPEGTSHEVC reads the H.265 track of an MPEG-TS file (ffmpeg -c:v
// libx265 -f mpegts) as an hvc1 track: the HEVCDecoderConfigurationRecord
// built from the first key frame's parameter sets, and every access unit
// with its DTS and PTS, length-prefixed. Timestamps start at the first DTS.
func ReadMPEGTSHEVC(path string) (*Track, error) {
	return readMPEGTSVideo(path, HEVC, "H.265",
		func(r *mpegts.Reader, tr *mpegts.Track, cb func(pts, dts int64, au [][]byte) error) bool {
			if _, ok := tr.Codec.(*mpegts.CodecH265); !ok {
				return false
			}
			r.OnDataH265(tr, cb)
			return true
		},
		func(au [][]byte) [][]byte { return au },
		h265.IsRandomAccess, HEVCRecord)
}

// readMPEGTSVideo reads the first video track that subscribe accepts from
// an MPEG-TS file: every access unit (filtered by strip) length-prefixed
// with its DTS and PTS from the first DTS, the configuration record made by
// record from the first key frame.
func readMPEGTSVideo(path, fourCC, name string,
	subscribe func(r *mpegts.Reader, tr *mpegts.Track, cb func(pts, dts int64, au [][]byte) error) bool,
	strip func([][]byte) [][]byte, isKey func([][]byte) bool, record func([][]byte) ([]byte, error),
) (*Track, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &mpegts.Reader{R: f}
	if err := r.Initialize(); err != nil {
		return nil, fmt.Errorf("ertmp: %s: %w", path, err)
	}
	t := &Track{Video: true, FourCC: fourCC}
	var base int64
	for _, tr := range r.Tracks() {
		subscribe(r, tr, func(pts, dts int64, au [][]byte) error {
			nalus := strip(au)
			if len(nalus) == 0 {
				return nil
			}
			if len(t.Frames) == 0 {
				base = dts
			}
			key := isKey(nalus)
			if t.Header == nil && key {
				if t.Header, err = record(nalus); err != nil {
					return err
				}
			}
			t.Frames = append(t.Frames, Frame{DTS: at90k(dts - base), PTS: at90k(pts - base), Key: key, Data: lengthPrefixed(nalus)})
			return nil
		})
	}
	for {
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("ertmp: %s: %w", path, err)
		}
	}
	if len(t.Frames) == 0 || t.Header == nil {
		return nil, fmt.Errorf("%w: %s has no %s key frame", ErrNoFrames, path, name)
	}
	return t, nil
}

func lengthPrefixed(au [][]byte) []byte {
	var b []byte
	for _, n := range au {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// H.265 NAL unit types (ITU-T H.265 Table 7-1).
const (
	hevcVPS = 32
	hevcSPS = 33
	hevcPPS = 34
)

// HEVCRecord builds an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
// §8.3.3.1) with 4-byte NAL unit lengths from the VPS, SPS and PPS of an
// access unit; the profile, tier and level come from the SPS.
func HEVCRecord(au [][]byte) ([]byte, error) {
	var vps, sps, pps []byte
	for _, n := range au {
		if len(n) < 2 {
			continue
		}
		switch (n[0] >> 1) & 0x3f {
		case hevcVPS:
			vps = n
		case hevcSPS:
			sps = n
		case hevcPPS:
			pps = n
		}
	}
	if vps == nil || sps == nil || pps == nil {
		return nil, fmt.Errorf("ertmp: access unit without VPS, SPS and PPS")
	}
	// SPS: 2-byte NAL unit header, sps_video_parameter_set_id u(4),
	// sps_max_sub_layers_minus1 u(3), sps_temporal_id_nesting_flag u(1),
	// then the 12 bytes of general profile_tier_level.
	rbsp := h264.EmulationPreventionRemove(sps)
	if len(rbsp) < 15 {
		return nil, fmt.Errorf("ertmp: SPS of %d bytes", len(rbsp))
	}
	ptl := rbsp[3:15]
	b := []byte{1}
	b = append(b, ptl[:11]...) // profile space/tier/idc, compatibility, constraints
	b = append(b, ptl[11])     // general_level_idc
	b = append(b,
		0xf0, 0x00, // reserved, min_spatial_segmentation_idc 0
		0xfc,       // reserved, parallelismType 0
		0xfd,       // reserved, chromaFormat 1 (4:2:0)
		0xf8, 0xf8, // reserved, bitDepthLuma/ChromaMinus8 0
		0x00, 0x00, // avgFrameRate 0
		0x0f, // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3
		3,    // numOfArrays
	)
	for _, n := range [][]byte{vps, sps, pps} {
		b = append(b, 0x80|(n[0]>>1)&0x3f, 0, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	return b, nil
}

// ReadIVF reads an IVF file (ffmpeg -f ivf) of AV1 ("AV01") or VP9 ("VP90")
// as an av01 or vp09 track, with its configuration record built from the
// first key frame.
func ReadIVF(path string) (*Track, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// IVF: "DKIF", version u16, header size u16, FourCC, width u16, height
	// u16, time base denominator u32, numerator u32, frame count u32, unused.
	if len(data) < 32 || string(data[:4]) != "DKIF" {
		return nil, fmt.Errorf("ertmp: %s is not IVF", path)
	}
	hdr := int(binary.LittleEndian.Uint16(data[6:]))
	den, num := int64(binary.LittleEndian.Uint32(data[16:])), int64(binary.LittleEndian.Uint32(data[20:]))
	if hdr < 32 || hdr > len(data) || den == 0 || num == 0 {
		return nil, fmt.Errorf("ertmp: %s: bad IVF header", path)
	}
	t := &Track{Video: true}
	switch string(data[8:12]) {
	case "AV01":
		t.FourCC = AV1
	case "VP90":
		t.FourCC = VP9
	default:
		return nil, fmt.Errorf("ertmp: %s: IVF FourCC %q", path, data[8:12])
	}
	for p := hdr; p+12 <= len(data); {
		size := int(binary.LittleEndian.Uint32(data[p:]))
		pts := int64(binary.LittleEndian.Uint64(data[p+4:]))
		p += 12
		if size > len(data)-p {
			return nil, fmt.Errorf("ertmp: %s: truncated frame", path)
		}
		frame := data[p : p+size]
		p += size
		ts := time.Duration(pts * num * int64(time.Second) / den)
		fr := Frame{DTS: ts, PTS: ts, Data: frame}
		if t.FourCC == AV1 {
			fr.Key, err = av1Key(frame)
			if err != nil {
				return nil, fmt.Errorf("ertmp: %s: %w", path, err)
			}
			if fr.Key && t.Header == nil {
				if t.Header, err = AV1Record(frame); err != nil {
					return nil, err
				}
			}
		} else {
			fr.Key = vp9.IsRandomAccess(frame)
			if fr.Key && t.Header == nil {
				if t.Header, err = VPRecord(frame); err != nil {
					return nil, err
				}
			}
		}
		t.Frames = append(t.Frames, fr)
	}
	if len(t.Frames) == 0 || t.Header == nil {
		return nil, fmt.Errorf("%w: %s has no key frame", ErrNoFrames, path)
	}
	return t, nil
}

// av1Key reports whether a temporal unit carries a sequence header (what
// encoders put on key frames).
func av1Key(tu []byte) (bool, error) {
	var bs av1.Bitstream
	if err := bs.Unmarshal(tu); err != nil {
		return false, err
	}
	return av1.IsRandomAccess2(bs), nil
}

// AV1Record builds an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3)
// around the sequence header OBU of a temporal unit.
func AV1Record(tu []byte) ([]byte, error) {
	var bs av1.Bitstream
	if err := bs.Unmarshal(tu); err != nil {
		return nil, err
	}
	for _, obu := range bs {
		if av1.OBUType((obu[0]>>3)&0x0f) != av1.OBUTypeSequenceHeader {
			continue
		}
		var sh av1.SequenceHeader
		if err := sh.Unmarshal(obu); err != nil {
			return nil, fmt.Errorf("ertmp: sequence header: %w", err)
		}
		cc := sh.ColorConfig
		b := []byte{0x81, sh.SeqProfile<<5 | sh.SeqLevelIdx[0]&0x1f, 0, 0}
		if sh.SeqTier[0] {
			b[2] |= 0x80
		}
		if cc.HighBitDepth {
			b[2] |= 0x40
		}
		if cc.TwelveBit {
			b[2] |= 0x20
		}
		if cc.MonoChrome {
			b[2] |= 0x10
		}
		if cc.SubsamplingX {
			b[2] |= 0x08
		}
		if cc.SubsamplingY {
			b[2] |= 0x04
		}
		b[2] |= byte(cc.ChromaSamplePosition) & 0x03
		// configOBUs: the sequence header in the low-overhead format
		// (obu_has_size_field 1), as the in-band OBUs are.
		payload := obu[1:]
		b = append(b, obu[0]|0x02)
		b = append(b, leb128(len(payload))...)
		return append(b, payload...), nil
	}
	return nil, fmt.Errorf("ertmp: temporal unit without sequence header")
}

func leb128(n int) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// VPRecord builds a VPCodecConfigurationRecord with its vpcC FullBox header
// (version 1, flags 0), as FFmpeg's muxers do, from a VP9 key frame.
func VPRecord(frame []byte) ([]byte, error) {
	var h vp9.Header
	if err := h.Unmarshal(frame); err != nil {
		return nil, err
	}
	if h.ColorConfig == nil {
		return nil, fmt.Errorf("ertmp: not a VP9 key frame")
	}
	b := []byte{1, 0, 0, 0, h.Profile, 0}
	fr := byte(0)
	if h.ColorConfig.ColorRange {
		fr = 1
	}
	b = append(b, h.ColorConfig.BitDepth<<4|h.ChromaSubsampling()<<1|fr)
	b = append(b, 2, 2, 2) // colour primaries, transfer, matrix: unspecified
	return append(b, 0, 0), nil
}

// ReadOggOpus reads an Ogg Opus file (ffmpeg -c:a libopus -f ogg) as an
// Opus track: the OpusHead packet is the sequence start, every audio
// packet a frame timed by its duration.
func ReadOggOpus(path string) (*Track, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	packets, err := oggPackets(data)
	if err != nil {
		return nil, fmt.Errorf("ertmp: %s: %w", path, err)
	}
	if len(packets) < 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		return nil, fmt.Errorf("%w: %s is not Ogg Opus", ErrNoFrames, path)
	}
	t := &Track{FourCC: Opus, Header: packets[0]}
	var at int64 // 48 kHz samples
	for _, p := range packets[2:] {
		ts := time.Duration(at) * time.Second / 48000
		t.Frames = append(t.Frames, Frame{DTS: ts, PTS: ts, Key: true, Data: p})
		at += opus.PacketDuration2(p)
	}
	return t, nil
}

// oggPackets returns the packets of the first logical bitstream of an Ogg
// file (RFC 3533: pages of "OggS", version, header type, granule position,
// serial, sequence, CRC, segment table; packets are runs of lacing values
// ending with one below 255).
func oggPackets(data []byte) ([][]byte, error) {
	var (
		packets [][]byte
		cur     []byte
		serial  uint32
		first   = true
	)
	for p := 0; p < len(data); {
		if len(data)-p < 27 || string(data[p:p+4]) != "OggS" {
			return nil, fmt.Errorf("bad Ogg page at %d", p)
		}
		s := binary.LittleEndian.Uint32(data[p+14:])
		nseg := int(data[p+26])
		if len(data)-p < 27+nseg {
			return nil, fmt.Errorf("truncated Ogg page at %d", p)
		}
		lacing := data[p+27 : p+27+nseg]
		body := p + 27 + nseg
		if first {
			serial, first = s, false
		}
		for _, l := range lacing {
			if body+int(l) > len(data) {
				return nil, fmt.Errorf("truncated Ogg segment at %d", body)
			}
			if s == serial {
				cur = append(cur, data[body:body+int(l)]...)
				if l < 255 {
					packets = append(packets, cur)
					cur = nil
				}
			}
			body += int(l)
		}
		p = body
	}
	return packets, nil
}

// ReadADTS reads an ADTS AAC file (ffmpeg -c:a aac -f adts) as an mp4a
// track: the AudioSpecificConfig of the first header, and raw frames of
// 1024 samples.
func ReadADTS(path string) (*Track, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("ertmp: %s: %w", path, err)
	}
	if len(pkts) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoFrames, path)
	}
	asc := mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelConfig: pkts[0].ChannelConfig}
	hdr, err := asc.Marshal()
	if err != nil {
		return nil, err
	}
	t := &Track{FourCC: AAC, Header: hdr}
	for i, p := range pkts {
		ts := time.Duration(i) * mpeg4audio.SamplesPerAccessUnit * time.Second / time.Duration(p.SampleRate)
		t.Frames = append(t.Frames, Frame{DTS: ts, PTS: ts, Key: true, Data: p.AU})
	}
	return t, nil
}

// ReadAC3 reads a raw AC-3 (ffmpeg -f ac3) or E-AC-3 (-f eac3) file as an
// ac-3 or ec-3 track of one syncframe per frame; these codecs have no
// sequence start.
func ReadAC3(path string, fourCC string) (*Track, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := &Track{FourCC: fourCC}
	var at time.Duration
	for p := 0; p < len(data); {
		var size, rate, samples int
		if fourCC == AC3 {
			var si ac3.SyncInfo
			if err := si.Unmarshal(data[p:]); err != nil {
				return nil, fmt.Errorf("ertmp: %s: %w", path, err)
			}
			size, rate, samples = si.FrameSize(), si.SampleRate(), ac3.SamplesPerFrame
		} else {
			var si eac3.SyncInfo
			if err := si.Unmarshal(data[p:]); err != nil {
				return nil, fmt.Errorf("ertmp: %s: %w", path, err)
			}
			size, rate, samples = si.FrameSize(), si.SampleRate(), si.NumBlocks()*256
		}
		if size <= 0 || size > len(data)-p {
			return nil, fmt.Errorf("ertmp: %s: truncated syncframe", path)
		}
		t.Frames = append(t.Frames, Frame{DTS: at, PTS: at, Key: true, Data: data[p : p+size]})
		at += time.Duration(samples) * time.Second / time.Duration(rate)
		p += size
	}
	if len(t.Frames) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoFrames, path)
	}
	return t, nil
}

// ReadMP3 reads a raw MPEG-1 Layer III file (ffmpeg -c:a libmp3lame
// -write_xing 0 -id3v2_version 0 -f mp3) as a .mp3 track of one frame per
// frame; MP3 has no sequence start.
func ReadMP3(path string) (*Track, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := &Track{FourCC: MP3}
	var at time.Duration
	for p := 0; p+4 <= len(data); {
		var h mpeg1audio.FrameHeader
		if err := h.Unmarshal(data[p:]); err != nil {
			return nil, fmt.Errorf("ertmp: %s at %d: %w", path, p, err)
		}
		size := h.FrameLen()
		if h.MPEG2 || size <= 0 || size > len(data)-p {
			break // trailing partial frame, or a format this reader does not size
		}
		t.Frames = append(t.Frames, Frame{DTS: at, PTS: at, Key: true, Data: data[p : p+size]})
		at += time.Duration(h.SampleCount()) * time.Second / time.Duration(h.SampleRate)
		p += size
	}
	if len(t.Frames) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoFrames, path)
	}
	return t, nil
}
