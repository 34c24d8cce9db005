package main

import (
	"os"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/flv/flvfile"
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
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, tags, err := flvfile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}

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
			const base = uint32(1<<32 - 2000) // wraps 2 s in
			start := time.Now()
			for _, tag := range tags {
				ts := base + tag.Timestamp // uint32 arithmetic wraps like an encoder's clock
				// Pace at 4x real time: fast, but still a live publish.
				if d := time.Duration(tag.Timestamp)*time.Millisecond/4 - time.Since(start); d > 0 {
					time.Sleep(d)
				}
				switch tag.Type {
				case flvfile.TagVideo:
					err = c.SendVideo(ts, tag.Data)
				case flvfile.TagAudio:
					err = c.SendAudio(ts, tag.Data)
				}
				if err != nil {
					t.Fatal(err)
				}
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
