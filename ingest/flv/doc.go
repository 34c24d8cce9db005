// Package flv parses the FLV audio and video tag bodies that RTMP media
// messages carry (message type 8 = AUDIODATA, 9 = VIDEODATA; Adobe FLV
// specification v10.1 annex E) and drives a remux.Remuxer with them.
//
// It knows FLV/RTMP payload layouts (AVCDecoderConfigurationRecord,
// HEVCDecoderConfigurationRecord, length-prefixed NAL units, AAC packets)
// and nothing about RTMP chunking, sockets or HLS. Every body is hostile:
// parsers bound their work by the input, never panic and return errors
// that say what is wrong.
package flv
