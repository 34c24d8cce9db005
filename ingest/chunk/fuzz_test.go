package chunk

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files from fuzzSeeds")

// fuzzSeeds returns valid and invalid chunk streams to start fuzzing from.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	add := func(build func(r *raw)) {
		var r raw
		build(&r)
		seeds = append(seeds, r.b)
	}
	p := seq(300, 1)
	add(func(r *raw) {
		r.fmt0(6, 1000, 300, TypeVideo, 1).data(p[:128]).fmt3(6).data(p[128:256]).fmt3(6).data(p[256:])
		r.fmt1(6, 40, 3, TypeAudio).data(p[:3]).fmt2(6, 5).data(p[:3]).fmt3(6).data(p[:3])
	})
	add(func(r *raw) {
		r.fmt0(64, 0x01000000, 200, TypeVideo, 1).data(p[:128]).fmt3(64).u32(0x01000000).data(p[128:200])
	})
	add(func(r *raw) {
		r.fmt0(65599, 0x01000000, 200, TypeVideo, 1).data(p[:128]).fmt3(65599).data(p[128:200])
	})
	add(func(r *raw) { r.setChunkSize(4096).fmt0(3, 0, 300, TypeCommandAMF0, 0).data(p) })
	add(func(r *raw) { r.setChunkSize(0) })
	add(func(r *raw) {
		r.fmt0(6, 0, 200, TypeVideo, 1).data(p[:128]).abort(6).fmt0(6, 0, 1, TypeVideo, 1).data(p[:1])
	})
	add(func(r *raw) { r.fmt0(6, 0, 0xFFFFFF, TypeVideo, 1).data(p) })
	stream, _ := mediaStream(tb, 4096, 1)
	seeds = append(seeds, stream[:20000])
	return seeds
}

// FuzzReader feeds arbitrary bytes to a Reader with small limits: it must
// never panic, never return a message over the limit and never buffer more
// than allowed.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := ReaderConfig{MaxMessageSize: 1 << 16, MaxChunkStreams: 8, BufferSize: 16}
		rd := NewReader(bytes.NewReader(b), cfg)
		for range len(b) + 1 {
			m, err := rd.ReadMessage()
			if err != nil {
				break
			}
			if len(m.Payload) > cfg.MaxMessageSize {
				t.Fatalf("message of %d bytes", len(m.Payload))
			}
			if rd.buffered > 2*cfg.MaxMessageSize {
				t.Fatalf("buffered %d bytes", rd.buffered)
			}
		}
		if rd.BytesRead() > uint64(len(b)) {
			t.Fatalf("read %d of %d bytes", rd.BytesRead(), len(b))
		}
	})
}

// TestWriteFuzzCorpus writes the seeds to testdata/fuzz/FuzzReader with
// -update-corpus, so they run as ordinary tests and seed `go test -fuzz`.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
