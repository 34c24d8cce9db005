package ertmp

import (
	"errors"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
)

// ReadMPEGTSAVC reads the H.264 track of an MPEG-TS file (ffmpeg -c:v
// libx264 -f mpegts) as an avc1 track: the AVCDecoderConfigurationRecord
// built from the first key frame's SPS and PPS, and every access unit
// (without access unit delimiters) with its DTS and PTS, length-prefixed.
// Timestamps start at the first DTS.
func ReadMPEGTSAVC(path string) (*Track, error) {
	return readMPEGTSVideo(path, AVC, "H.264",
		func(r *mpegts.Reader, tr *mpegts.Track, cb func(pts, dts int64, au [][]byte) error) bool {
			if _, ok := tr.Codec.(*mpegts.CodecH264); !ok {
				return false
			}
			r.OnDataH264(tr, cb)
			return true
		},
		func(au [][]byte) [][]byte {
			var nalus [][]byte
			for _, n := range au {
				if len(n) > 0 && h264.NALUType(n[0]&0x1f) != h264.NALUTypeAccessUnitDelimiter {
					nalus = append(nalus, n)
				}
			}
			return nalus
		},
		h264.IsRandomAccess, AVCRecord)
}

// AVCRecord builds an AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// §5.3.3.1) with 4-byte NAL unit lengths from the first SPS and PPS of an
// access unit; the High profile extension states 4:2:0 8-bit (what the
// SPS says is not parsed beyond profile, constraints and level).
func AVCRecord(au [][]byte) ([]byte, error) {
	var sps, pps []byte
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			if sps == nil {
				sps = n
			}
		case h264.NALUTypePPS:
			if pps == nil {
				pps = n
			}
		}
	}
	if len(sps) < 4 || pps == nil {
		return nil, errors.New("ertmp: access unit without SPS and PPS")
	}
	b := []byte{1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | 1, byte(len(sps) >> 8), byte(len(sps))}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	b = append(b, pps...)
	switch sps[1] {
	case 100, 110, 122, 144:
		var s h264.SPS
		chroma, depthY, depthC := byte(1), byte(0), byte(0)
		if err := s.Unmarshal(sps); err == nil && s.ChromaFormatIdc != 0 {
			chroma = byte(s.ChromaFormatIdc)
			depthY, depthC = byte(s.BitDepthLumaMinus8), byte(s.BitDepthChromaMinus8)
		}
		b = append(b, 0xfc|chroma, 0xf8|depthY, 0xf8|depthC, 0)
	}
	return b, nil
}
