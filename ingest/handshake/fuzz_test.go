package handshake

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files")

func fuzzSeeds() [][]byte {
	plain := append([]byte{3}, make([]byte, 2*PacketSize)...)
	digestC1 := make([]byte, PacketSize)
	copy(digestC1[4:], []byte{9, 0, 124, 2})
	off := digestOffset(digestC1, Schema1)
	copy(digestC1[off:], digest(digestC1, off, playerKey[:playerKeyTextLen]))
	dig := append(append([]byte{3}, digestC1...), make([]byte, PacketSize)...)
	return [][]byte{plain, dig, {6}, []byte("GET /"), plain[:100]}
}

// FuzzServer runs the server side on arbitrary client bytes: no panics, and
// success only with a full C0+C1+C2.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		_, err := Server(bytes.NewReader(in), &out)
		if err == nil && len(in) < 1+2*PacketSize {
			t.Fatalf("handshake succeeded on %d bytes", len(in))
		}
		if err == nil && out.Len() != 1+2*PacketSize {
			t.Fatalf("wrote %d bytes", out.Len())
		}
	})
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzServer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
