package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// maxBatch bounds the messages written with one writev; a stream that is
// late catches up in batches of this size.
const maxBatch = 64

// writeTimeout fails a stream whose gateway accepts no bytes for this long.
const writeTimeout = 10 * time.Second

// publisher replays the clip on one RTMP connection in real time.
type publisher struct {
	// Set before run.
	addr      string
	app, name string
	clip      *clip
	chunkSize uint32
	setup     time.Duration // bound on dial, handshake and publish

	// sent counts bytes written to the connection; the reporter reads it
	// while run writes it.
	sent atomic.Int64
	// lagMax is the largest lateness of a message, in microseconds.
	lagMax atomic.Int64
	// started is set once the publish succeeded, failed once err is set.
	started, failed atomic.Bool

	// Set by run, read after it returns.
	err      error
	setupDur time.Duration

	// Write scratch, reused for every batch so that the steady state
	// allocates nothing.
	hdrs [maxBatch][headerLen]byte
	vec  [2 * maxBatch][]byte
	bufs net.Buffers
}

// run publishes until ctx ends or an error occurs; the error is kept in
// p.err. Cancelling ctx is a clean stop: the stream unpublishes.
func (p *publisher) run(ctx context.Context) {
	err := p.publish(ctx)
	if err != nil && !(ctx.Err() != nil && p.started.Load()) {
		p.fail(err)
	}
}

// fail records why the stream failed.
func (p *publisher) fail(err error) {
	p.err = err
	p.failed.Store(true)
}

func (p *publisher) publish(ctx context.Context) error {
	t0 := time.Now()
	c, err := rtmptest.Dial(p.addr, rtmptest.Options{Timeout: p.setup})
	if err != nil {
		return err
	}
	conn := c.Conn()
	defer conn.Close()
	// The end of the run interrupts nothing: every call is bounded by a
	// deadline (p.setup during setup, writeTimeout per write), so a stream
	// always finishes the message it is writing and can unpublish.

	if err := c.SetChunkSize(p.chunkSize); err != nil {
		return fmt.Errorf("set chunk size: %w", err)
	}
	st, err := c.PublishFlow(p.app, p.name)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if code := st.Code(); code != "NetStream.Publish.Start" {
		return fmt.Errorf("publish refused: %s", code)
	}
	if p.clip.metadata != nil {
		err := c.SendMessage(&chunk.Message{ChunkStreamID: c.DataCSID, Type: chunk.TypeDataAMF0, StreamID: c.StreamID, Payload: p.clip.metadata})
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
	}
	p.setupDur = time.Since(t0)
	p.started.Store(true)

	// From here on the gateway only sends acknowledgements and perhaps a
	// ping or an onStatus: read and discard them so that its writes never
	// block, and notice when it closes the connection.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return err
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, err := c.R.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()

	if err := p.replay(ctx, conn, c.StreamID, readErr); err != nil {
		return err
	}
	// The run is over: unpublish like an encoder that stops, so the gateway
	// ends the playlist at once instead of waiting for a reconnect.
	_ = conn.SetDeadline(time.Now().Add(p.setup))
	if err := c.Unpublish(p.name); err != nil {
		return err
	}
	// Half-close and let the gateway answer and close its side, rather
	// than making it write its replies into a reset connection.
	if tc, ok := conn.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
		<-readErr // the drain ends with EOF, or at the deadline just set
	}
	return nil
}

// replay sends the clip's messages, each when its time comes, looping with
// continuous timestamps, until ctx ends (then it returns nil).
func (p *publisher) replay(ctx context.Context, conn net.Conn, streamID uint32, readErr <-chan error) error {
	cur := cursor{clip: p.clip}
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var deadline time.Time
	for {
		next := start.Add(cur.due())
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			case err := <-readErr:
				return fmt.Errorf("gateway closed the connection: %w", err)
			}
		} else if ctx.Err() != nil {
			return nil
		}

		// Batch every message that is due now.
		now := time.Now()
		if lag := now.Sub(next).Microseconds(); lag > p.lagMax.Load() {
			p.lagMax.Store(lag)
		}
		p.bufs = p.vec[:0]
		size := int64(0)
		for n := 0; n < maxBatch && !start.Add(cur.due()).After(now); n++ {
			ts := cur.timestamp()
			if ts > maxTimestamp {
				return errors.New("timestamp would need an Extended Timestamp; duration too long")
			}
			t := cur.tag()
			putHeader(&p.hdrs[n], t, uint32(ts), streamID)
			p.bufs = append(p.bufs, p.hdrs[n][:], t.body)
			size += int64(headerLen + len(t.body))
			cur.advance()
		}
		if now.After(deadline.Add(time.Second - writeTimeout)) {
			// Refresh the write deadline about once a second rather than
			// once a batch: it costs a timer update in the runtime.
			deadline = now.Add(writeTimeout)
			if err := conn.SetWriteDeadline(deadline); err != nil {
				return err
			}
		}
		if _, err := p.bufs.WriteTo(conn); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		p.sent.Add(size)
	}
}

// cursor walks the clip's messages pass after pass, skipping the sequence
// headers after the first pass (the decoder configuration does not change).
type cursor struct {
	clip *clip
	i    int
	pass int
}

// tag returns the current message.
func (c *cursor) tag() *clipTag { return &c.clip.tags[c.i] }

// timestamp returns the current message's timestamp in milliseconds.
func (c *cursor) timestamp() uint64 {
	return uint64(c.pass)*uint64(c.clip.period) + uint64(c.clip.tags[c.i].offset)
}

// due returns the current message's time relative to the replay start.
func (c *cursor) due() time.Duration { return time.Duration(c.timestamp()) * time.Millisecond }

// advance moves to the next message to send.
func (c *cursor) advance() {
	for {
		if c.i++; c.i == len(c.clip.tags) {
			c.i, c.pass = 0, c.pass+1
		}
		if c.pass == 0 || !c.clip.tags[c.i].config {
			return
		}
	}
}
