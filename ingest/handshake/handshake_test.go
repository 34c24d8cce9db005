package handshake

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// pair returns a connected loopback TCP pair (net.Pipe is unbuffered and
// would deadlock the legal "read S1, write C2, read S2" client order).
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	if server == nil {
		t.Fatal("accept failed")
	}
	deadline := time.Now().Add(5 * time.Second)
	_ = client.SetDeadline(deadline)
	_ = server.SetDeadline(deadline)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

type serverResult struct {
	info Info
	err  error
	rest []byte // bytes the client sent after C2
}

// runServer runs Server on conn and then reads what follows C2 through the
// same buffered reader.
func runServer(conn net.Conn, restLen int) <-chan serverResult {
	ch := make(chan serverResult, 1)
	go func() {
		br := bufio.NewReader(conn)
		info, err := Server(br, conn)
		res := serverResult{info: info, err: err}
		if err == nil && restLen > 0 {
			res.rest = make([]byte, restLen)
			_, res.err = io.ReadFull(br, res.rest)
		}
		ch <- res
	}()
	return ch
}

func TestPlainAndDigest(t *testing.T) {
	cases := []struct {
		name   string
		cfg    ClientConfig
		digest bool
		schema Schema
	}{
		{"plain", ClientConfig{}, false, SchemaNone},
		{"digest schema1", ClientConfig{Digest: true, Schema: Schema1}, true, Schema1},
		{"digest schema0", ClientConfig{Digest: true, Schema: Schema0, PlayerVersion: [4]byte{128, 0, 3, 2}}, true, Schema0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc, sc := pair(t)
			res := runServer(sc, 5)
			si, err := Client(cc, cc, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The first chunk right behind C2 must not be lost.
			if _, err := cc.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.info.Digest != c.digest || r.info.Schema != c.schema {
				t.Fatalf("server saw digest=%v schema=%v", r.info.Digest, r.info.Schema)
			}
			if si.Digest != c.digest || si.Schema != c.schema {
				t.Fatalf("client saw digest=%v schema=%v", si.Digest, si.Schema)
			}
			if string(r.rest) != "hello" {
				t.Fatalf("rest %q", r.rest)
			}
		})
	}
}

// librtmpClient is an independent implementation of the client side as
// librtmp does it (handshake.h HandShake with FP9HandShake): it verifies the
// S1 digest at the schema-0 position first, then schema 1, derives the S2
// signature key from its own C1 digest with the full FMS key, and answers
// C2 with a signature over random bytes.
func librtmpClient(t *testing.T, conn net.Conn, schema Schema) {
	t.Helper()
	fp := []byte("Genuine Adobe Flash Player 001")
	fms := []byte("Genuine Adobe Flash Media Server 001")
	tail := []byte{
		0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
		0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
	}
	fpFull := append(append([]byte{}, fp...), tail...)
	fmsFull := append(append([]byte{}, fms...), tail...)
	mac := func(key []byte, parts ...[]byte) []byte {
		h := hmac.New(sha256.New, key)
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	// Offsets as librtmp computes them: GetDigestOffset1 reads bytes 8..11
	// and adds 12, GetDigestOffset2 reads bytes 772..775 and adds 776.
	off1 := func(b []byte) int { return (int(b[8])+int(b[9])+int(b[10])+int(b[11]))%728 + 12 }
	off2 := func(b []byte) int { return (int(b[772])+int(b[773])+int(b[774])+int(b[775]))%728 + 776 }

	c1 := make([]byte, 1536)
	for i := range c1 {
		c1[i] = byte(i*7 + 3)
	}
	copy(c1[4:], []byte{9, 0, 124, 2})
	pos := off1(c1)
	if schema == Schema0 {
		copy(c1[4:], []byte{128, 0, 3, 2})
		pos = off2(c1)
	}
	copy(c1[pos:], mac(fp, c1[:pos], c1[pos+32:]))
	if _, err := conn.Write(append([]byte{3}, c1...)); err != nil {
		t.Fatal(err)
	}
	s0s1 := make([]byte, 1537)
	if _, err := io.ReadFull(conn, s0s1); err != nil {
		t.Fatal(err)
	}
	if s0s1[0] != 3 {
		t.Fatalf("S0 = %d", s0s1[0])
	}
	s1 := s0s1[1:]
	if s1[4] == 0 {
		t.Fatal("server refused the digest handshake (zero version)")
	}
	verify := func(p int) bool { return bytes.Equal(mac(fms, s1[:p], s1[p+32:]), s1[p:p+32]) }
	spos := off2(s1)
	if !verify(spos) {
		spos = off1(s1)
		if !verify(spos) {
			t.Fatal("Couldn't verify the server digest")
		}
	}
	c2 := make([]byte, 1536)
	for i := range c2 {
		c2[i] = byte(i * 13)
	}
	copy(c2[1504:], mac(mac(fpFull, s1[spos:spos+32]), c2[:1504]))
	if _, err := conn.Write(c2); err != nil {
		t.Fatal(err)
	}
	s2 := make([]byte, 1536)
	if _, err := io.ReadFull(conn, s2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac(mac(fmsFull, c1[pos:pos+32]), s2[:1504]), s2[1504:]) {
		t.Fatal("Server not genuine Adobe!")
	}
}

func TestServerAgainstLibrtmpStyleClient(t *testing.T) {
	for _, schema := range []Schema{Schema0, Schema1} {
		t.Run(schema.String(), func(t *testing.T) {
			cc, sc := pair(t)
			res := runServer(sc, 0)
			librtmpClient(t, cc, schema)
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !r.info.Digest || r.info.Schema != schema {
				t.Fatalf("digest=%v schema=%v", r.info.Digest, r.info.Schema)
			}
		})
	}
}

// TestDigestFallback: a non-zero version without a valid digest gets the
// plain answer.
func TestDigestFallback(t *testing.T) {
	cc, sc := pair(t)
	res := runServer(sc, 0)
	c1 := bytes.Repeat([]byte{0x5a}, PacketSize)
	copy(c1[4:], []byte{9, 0, 124, 2})
	if _, err := cc.Write(append([]byte{3}, c1...)); err != nil {
		t.Fatal(err)
	}
	s := make([]byte, 1+2*PacketSize)
	if _, err := io.ReadFull(cc, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s[1+PacketSize:], c1) {
		t.Fatal("S2 does not echo C1")
	}
	if s[5] != 0 {
		t.Fatal("plain S1 must have a zero version")
	}
	if _, err := cc.Write(s[1 : 1+PacketSize]); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.err != nil || r.info.Digest {
		t.Fatalf("%+v", r)
	}
}

func TestServerErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"http", []byte("GET / HTTP/1.1\r\n"), ErrUnsupportedVersion},
		{"tls", []byte{0x16, 3, 1}, nil}, // 0x16 = 22 < 32: answered as RTMP 3, then C1 is short
		{"rtmpe", []byte{6}, ErrUnsupportedVersion},
		{"empty", nil, io.EOF},
		{"short C1", append([]byte{3}, make([]byte, 100)...), io.ErrUnexpectedEOF},
		{"no C2", append([]byte{3}, make([]byte, PacketSize)...), io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Server(bytes.NewReader(c.in), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestClientDetectsBadServer checks the client-side verification used by
// the test client.
func TestClientDetectsBadServer(t *testing.T) {
	cc, sc := pair(t)
	go func() {
		// A server that claims digest support but sends garbage.
		in := make([]byte, 1+PacketSize)
		if _, err := io.ReadFull(sc, in); err != nil {
			return
		}
		out := bytes.Repeat([]byte{1}, 1+2*PacketSize)
		out[0] = 3
		_, _ = sc.Write(out)
		_, _ = io.ReadFull(sc, in[:PacketSize])
	}()
	if _, err := Client(cc, cc, ClientConfig{Digest: true}); !errors.Is(err, ErrBadServerDigest) {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkServerDigest(b *testing.B) {
	var c1 bytes.Buffer
	c1.WriteByte(3)
	p := make([]byte, PacketSize)
	copy(p[4:], []byte{9, 0, 124, 2})
	off := digestOffset(p, Schema1)
	copy(p[off:], digest(p, off, playerKey[:playerKeyTextLen]))
	c1.Write(p)
	c1.Write(make([]byte, PacketSize))
	in := c1.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Server(bytes.NewReader(in), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
