// Package flv parses the FLV audio and video tag bodies that RTMP media
// messages carry (message type 8 = AUDIODATA, 9 = VIDEODATA; Adobe FLV
// specification v10.1 annex E, and Enhanced RTMP v2) and drives a
// remux.Remuxer with them.
//
// Legacy FLV: AVC (codec id 7), HEVC under the unofficial codec id 12,
// AAC, and MP3 (SoundFormat 2 and 14, configured by the frame headers;
// MPEG-2.5 rates are dropped). Enhanced RTMP (veovera E-RTMP v2): the ExVideoTagHeader and
// ExAudioTagHeader with FourCC codecs (avc1, hvc1, av01, vp09; mp4a, Opus,
// fLaC, ac-3, ec-3, .mp3), every packet type (sequence start and end, coded
// frames with or without composition time, metadata with colorInfo,
// multichannel configuration, command frames), ModEx prefixes with
// TimestampOffsetNano, and the three multitrack layouts: each (kind, track
// id) becomes its own remux track, legacy media being track 0.
//
// It knows FLV/RTMP payload layouts and the codec configuration records
// (AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord,
// AV1CodecConfigurationRecord, VPCodecConfigurationRecord), and nothing
// about RTMP chunking, sockets or HLS. Every body is hostile: parsers bound
// their work by the input, never panic and return errors that say what is
// wrong.
package flv
