package ertmp

import (
	"fmt"
	"time"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// CapsEx bits (E-RTMP v2 "CapsExMask").
const (
	CapsExReconnect           = 0x01
	CapsExMultitrack          = 0x02
	CapsExModEx               = 0x04
	CapsExTimestampNanoOffset = 0x08
)

// FourCcInfoMask bits.
const (
	CanDecode  = 0x01
	CanEncode  = 0x02
	CanForward = 0x04
)

// ConnectProperties returns the connect command properties an E-RTMP
// publisher sends: fourCcList (the original form) and the info maps (the
// v2 form) for the given codecs, which it can encode, and capsEx.
func ConnectProperties(capsEx int, video, audio []string) amf.Object {
	var list []any
	vmap, amap := amf.Object{}, amf.Object{}
	for _, f := range video {
		list = append(list, f)
		vmap = append(vmap, amf.Property{Key: f, Value: CanEncode})
	}
	for _, f := range audio {
		list = append(list, f)
		amap = append(amap, amf.Property{Key: f, Value: CanEncode})
	}
	return amf.Object{
		{Key: "fourCcList", Value: list},
		{Key: "videoFourCcInfoMap", Value: vmap},
		{Key: "audioFourCcInfoMap", Value: amap},
		{Key: "capsEx", Value: capsEx},
	}
}

// Publisher publishes E-RTMP messages on an rtmptest.Client.
type Publisher struct {
	*rtmptest.Client
	// Connected is the server's connect _result.
	Connected *rtmptest.Command
}

// Publish dials addr, connects to app announcing the codecs of tracks with
// capsEx Multitrack | ModEx | TimestampNanoOffset, creates a stream and
// publishes key. The publish onStatus must be NetStream.Publish.Start.
func Publish(addr, app, key string, opts rtmptest.Options, tracks ...*Track) (*Publisher, error) {
	c, err := rtmptest.Dial(addr, opts)
	if err != nil {
		return nil, err
	}
	var video, audio []string
	seen := map[string]bool{}
	for _, t := range tracks {
		if seen[t.FourCC] {
			continue
		}
		seen[t.FourCC] = true
		if t.Video {
			video = append(video, t.FourCC)
		} else {
			audio = append(audio, t.FourCC)
		}
	}
	res, err := c.Connect(app, ConnectProperties(CapsExMultitrack|CapsExModEx|CapsExTimestampNanoOffset, video, audio))
	if err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.CreateStream(); err != nil {
		c.Close()
		return nil, err
	}
	st, err := c.Publish(key)
	if err != nil {
		c.Close()
		return nil, err
	}
	if st.Code() != "NetStream.Publish.Start" {
		c.Close()
		return nil, fmt.Errorf("ertmp: publish %s: %s", key, st.Code())
	}
	return &Publisher{Client: c, Connected: res}, nil
}

// Send sends msgs in order, paced at speed times real time (0: as fast as
// possible) from the first message's timestamp.
func (p *Publisher) Send(msgs []Message, speed float64) error {
	if len(msgs) == 0 {
		return nil
	}
	start, t0 := time.Now(), msgs[0].Timestamp
	for _, m := range msgs {
		if speed > 0 {
			at := time.Duration(float64(time.Duration(m.Timestamp-t0)*time.Millisecond) / speed)
			if d := at - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		var err error
		if m.Video {
			err = p.SendVideo(m.Timestamp, m.Body)
		} else {
			err = p.SendAudio(m.Timestamp, m.Body)
		}
		if err != nil {
			return fmt.Errorf("ertmp: sending at %d ms: %w", m.Timestamp, err)
		}
	}
	return nil
}
