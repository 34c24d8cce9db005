package remux

// pendingQueue holds copies of the frames that arrive while the Remuxer
// waits for an announced track's configuration. It lives only during the
// first moments of a publication and is released at the start.
type pendingQueue struct {
	frames  []pendingFrame
	spans   []span // byte ranges of NAL units / payloads in data
	data    []byte
	firstMs int64
	size    int // approximate memory held, compared with the probe bound
}

type pendingFrame struct {
	st         *trackState
	t          timing
	key        bool
	video      bool
	nalus      bool // video as NAL units (else one payload)
	start, end int  // range in spans
}

type span struct{ off, end int }

// add copies a frame (the borrowed nalus or payload) into the queue.
func (q *pendingQueue) add(st *trackState, t timing, key bool, nalus [][]byte, payload []byte) {
	if len(q.frames) == 0 {
		q.firstMs = t.ms
	}
	f := pendingFrame{st: st, t: t, key: key, video: st.kind == KindVideo, nalus: len(nalus) > 0, start: len(q.spans)}
	if f.nalus {
		for _, n := range nalus {
			q.push(n)
		}
	} else {
		q.push(payload)
	}
	f.end = len(q.spans)
	q.frames = append(q.frames, f)
	q.size += pendingFrameOverhead
}

func (q *pendingQueue) push(b []byte) {
	off := len(q.data)
	q.data = append(q.data, b...)
	q.spans = append(q.spans, span{off, len(q.data)})
	q.size += len(b) + pendingSpanOverhead
}

// holds reports whether frames of st are buffered.
func (q *pendingQueue) holds(st *trackState) bool {
	for i := range q.frames {
		if q.frames[i].st == st {
			return true
		}
	}
	return false
}

// replay writes the buffered frames, in arrival order, through the normal
// timing path.
func (q *pendingQueue) replay(r *Remuxer) error {
	for i := range q.frames {
		f := &q.frames[i]
		var err error
		switch {
		case f.nalus:
			r.scratch = r.scratch[:0]
			for _, s := range q.spans[f.start:f.end] {
				r.scratch = append(r.scratch, q.data[s.off:s.end:s.end])
			}
			err = r.emitVideo(f.st, f.t, f.key, r.scratch, nil)
			clear(r.scratch)
		case f.video:
			s := q.spans[f.start]
			err = r.emitVideo(f.st, f.t, f.key, nil, q.data[s.off:s.end:s.end])
		default:
			s := q.spans[f.start]
			err = r.emitAudio(f.st, f.t, q.data[s.off:s.end:s.end])
		}
		if err != nil {
			return err
		}
	}
	return nil
}
