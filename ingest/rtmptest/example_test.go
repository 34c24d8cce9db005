package rtmptest_test

import (
	"fmt"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// Publishing a stream: handshake, connect, createStream, publish, then
// metadata and media with chosen timestamps.
func ExampleDial() {
	c, err := rtmptest.Dial("127.0.0.1:1935", rtmptest.Options{Digest: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	st, err := c.PublishFlow("live", "key?token=t")
	if err != nil || st.Code() != "NetStream.Publish.Start" {
		fmt.Println(st, err)
		return
	}
	_ = c.SendMetadata(amf.Object{{Key: "width", Value: 1280}})
	_ = c.SetChunkSize(4096)
	_ = c.SendVideo(0x01000000, []byte{0x17, 0, 0, 0, 0}) // extended timestamp
	_ = c.SendAudio(0xFFFFFFF0, []byte{0xaf, 0, 0x12, 0x10})
	_ = c.Unpublish("key")
}
