package ingest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Tests with real publishers. Each is skipped when its tool is missing.

// checkRealPublish asserts what every real encoder must deliver: metadata,
// the AVC and AAC sequence headers, and non-decreasing timestamps per track
// that advance over the clip.
func checkRealPublish(t *testing.T, s *fakeSession, wantMetadata bool) {
	t.Helper()
	s.waitFor(t, "End", func(_ []event, ends []bool) bool { return len(ends) > 0 })
	ev, ends := s.snapshot()
	if len(ends) != 1 {
		t.Fatalf("End called %d times", len(ends))
	}
	var sawMeta, sawAVC, sawAAC bool
	last := map[string]uint32{}
	first := map[string]uint32{}
	count := map[string]int{}
	for _, e := range ev {
		switch e.kind {
		case "metadata":
			sawMeta = true
			continue
		case "video":
			if len(e.body) >= 2 && e.body[0] == 0x17 && e.body[1] == 0x00 {
				sawAVC = true
			}
		case "audio":
			if len(e.body) >= 2 && e.body[0] == 0xAF && e.body[1] == 0x00 {
				sawAAC = true
			}
		}
		if count[e.kind] > 0 && e.ts < last[e.kind] {
			t.Fatalf("%s timestamp went back from %d to %d", e.kind, last[e.kind], e.ts)
		}
		if count[e.kind] == 0 {
			first[e.kind] = e.ts
		}
		last[e.kind] = e.ts
		count[e.kind]++
	}
	if wantMetadata && !sawMeta {
		t.Error("no onMetaData")
	}
	if !sawAVC {
		t.Error("no AVC sequence header (0x17 0x00)")
	}
	if !sawAAC {
		t.Error("no AAC sequence header (0xAF 0x00)")
	}
	for _, k := range []string{"video", "audio"} {
		if count[k] < 10 || last[k]-first[k] < 1000 {
			t.Errorf("%s: %d messages from %d to %d ms", k, count[k], first[k], last[k])
		}
	}
	t.Logf("video %d messages %d..%d ms, audio %d messages %d..%d ms, clean end %v",
		count["video"], first["video"], last["video"], count["audio"], first["audio"], last["audio"], ends[0])
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func TestFFmpegPublish(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	ts := startServer(t, nil)
	runTool(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine",
		"-t", "2", "-c:v", "libx264", "-bf", "2", "-g", "30", "-c:a", "aac",
		"-f", "flv", "rtmp://"+ts.addr()+"/live/test")
	s := ts.nextSession(t)
	if s.req.App != "live" || s.req.Key != "test" {
		t.Fatalf("app %q key %q", s.req.App, s.req.Key)
	}
	checkRealPublish(t, s, true)
	s.waitEnd(t, true) // FFmpeg sends FCUnpublish and deleteStream
	ts.logs.waitLog(t, `"message":"handshake done"`, `"digest":true`)
}

// gstPipeline returns a gst-launch-1.0 pipeline of 2 s of H.264 and AAC
// into sink, or skips when an element is missing.
func gstPipeline(t *testing.T, sink string) (string, []string) {
	t.Helper()
	launch, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		t.Skip("gst-launch-1.0 not installed")
	}
	aac := ""
	for _, enc := range []string{"avenc_aac", "voaacenc", "fdkaacenc"} {
		if exec.Command("gst-inspect-1.0", enc).Run() == nil {
			aac = enc
			break
		}
	}
	sinkElem, _, _ := strings.Cut(sink, " ")
	for _, e := range []string{"videotestsrc", "x264enc", "h264parse", "flvmux", "audiotestsrc", "aacparse", sinkElem} {
		if exec.Command("gst-inspect-1.0", e).Run() != nil {
			t.Skipf("GStreamer element %s not installed", e)
		}
	}
	if aac == "" {
		t.Skip("no GStreamer AAC encoder")
	}
	pipeline := "videotestsrc num-buffers=60 is-live=true ! video/x-raw,framerate=30/1,width=320,height=240 ! " +
		"x264enc tune=zerolatency key-int-max=30 ! h264parse ! flvmux name=m streamable=true ! " + sink + " " +
		"audiotestsrc num-buffers=94 is-live=true ! " + aac + " ! aacparse ! m."
	return launch, append([]string{"-q"}, strings.Fields(pipeline)...)
}

// TestGStreamerRtmpsink publishes with rtmpsink, i.e. librtmp.
func TestGStreamerRtmpsink(t *testing.T) {
	ts := startServer(t, nil)
	launch, args := gstPipeline(t, "rtmpsink location=rtmp://"+ts.addr()+"/live/test")
	runTool(t, launch, args...)
	s := ts.nextSession(t)
	checkRealPublish(t, s, true)
	// Debian's librtmp only sends a digest C1 for RTMPE or SWF verification.
	t.Log(ts.logs.waitLog(t, `"message":"handshake done"`))
}

// TestGStreamerRtmp2sink publishes with rtmp2sink, GStreamer's own client.
func TestGStreamerRtmp2sink(t *testing.T) {
	ts := startServer(t, nil)
	launch, args := gstPipeline(t, "rtmp2sink location=rtmp://"+ts.addr()+"/live/test")
	runTool(t, launch, args...)
	s := ts.nextSession(t)
	checkRealPublish(t, s, true)
}
