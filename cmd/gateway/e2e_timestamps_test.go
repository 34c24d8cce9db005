package main

import (
	"math"
	"testing"

	"github.com/livegate/gateway/ingest/rtmptest"
)

// A publisher whose clock is about to wrap: the RTMP timestamps of the B-frame
// clip start 2 s before 2^32 ms (so every one needs the extended timestamp
// field) and wrap to small values mid-stream. The HLS output must play
// straight through the wrap with every DTS and PTS as in the source.
func TestE2ETimestampWrap(t *testing.T) {
	t.Parallel()
	src := clip(t, 5)
	wantVideo, _ := probePackets(t, src)
	tags := opsTags(t) // the same 5 s clip

	for _, tc := range []struct {
		name string
		opts rtmptest.Options
	}{
		{"repeated extended timestamp", rtmptest.Options{}},
		{"omitted on continuation chunks", rtmptest.Options{OmitContinuationExtendedTimestamp: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := sharedGateway(t, "mpegts")
			stream := "wrap"
			if tc.opts.OmitContinuationExtendedTimestamp {
				stream = "wrap-omit"
			}
			c, err := rtmptest.Dial(gw.RTMPAddr().String(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if st, err := c.PublishFlow("live", stream); err != nil || st.Code() != "NetStream.Publish.Start" {
				t.Fatalf("publish: %v %v", st, err)
			}
			// Timestamps start 2 s before 2^32 ms and wrap (uint32
			// arithmetic, like an encoder's clock); 4x real time.
			if err := opsSend(t, c, tags, 0, math.MaxUint32, 1<<32-2000, 4); err != nil {
				t.Fatal(err)
			}
			if err := c.Unpublish(stream); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, gw, "live", stream)
			index := httpURL(gw, "live/"+stream+"/index.m3u8")
			if msg := decodeErrors(t, index); msg != "" {
				t.Errorf("decoding across the 2^32 ms wrap reported: %s", msg)
			}
			gotVideo, gotAudio := probePackets(t, index)
			compareTimestamps(t, wantVideo, gotVideo, 0.0015)
			if len(gotAudio) == 0 {
				t.Error("no audio")
			}
		})
	}
}
