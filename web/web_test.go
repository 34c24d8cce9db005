package web

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestRenderIndex(t *testing.T) {
	var b bytes.Buffer
	if err := RenderIndex(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"<!doctype html>",
		`<link rel="stylesheet" href="` + AssetURL("style.css") + `">`,
		`<script src="` + AssetURL("index.js") + `" defer></script>`,
		`id="streams"`,
		`href="/api/v1/streams"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index page lacks %s", want)
		}
	}
}

func TestRenderPlayer(t *testing.T) {
	cases := []struct {
		name    string
		page    PlayerPage
		hlsjs   bool
		want    []string
		wantNot []string
	}{
		{
			name:  "with hls.js",
			page:  PlayerPage{App: "live", Stream: "cam"},
			hlsjs: true,
			want: []string{
				`data-src="index.m3u8"`, `data-app="live"`, `data-stream="cam"`, `data-hlsjs="1"`,
				`<video id="video" muted autoplay playsinline controls>`,
				`<script src="` + AssetURL(HLSJSAsset) + `"></script>`,
				`<script src="` + AssetURL("player.js") + `"></script>`,
				`id="embed-iframe"`, `id="embed-video"`, `id="url-playlist"`,
				`<section class="choices" id="choices" hidden`, `<select id="quality">`, `<select id="audio">`,
				"<title>live/cam · livegate</title>",
			},
			wantNot: []string{"is not bundled", "page-player embed"},
		},
		{
			name: "without hls.js",
			page: PlayerPage{App: "live", Stream: "cam"},
			want: []string{
				`data-hlsjs="0"`,
				"hls.js is not bundled in this build: run <code>go generate ./web</code>",
				`<script src="` + AssetURL("player.js") + `"></script>`,
			},
			wantNot: []string{"hls.min.js"},
		},
		{
			name:    "embed",
			page:    PlayerPage{App: "live", Stream: "cam", Embed: true},
			hlsjs:   true,
			want:    []string{`class="page-player embed"`, `<video id="video"`},
			wantNot: []string{"Share and embed", `class="topbar"`, "is not bundled"},
		},
		{
			name:    "names are escaped",
			page:    PlayerPage{App: `a"><script>`, Stream: "<b>x</b>"},
			hlsjs:   true,
			want:    []string{`data-app="a&#34;&gt;&lt;script&gt;"`, "&lt;b&gt;x&lt;/b&gt;"},
			wantNot: []string{"<b>x</b>", `a"><script>`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := renderPlayer(&b, c.page, c.hlsjs); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(page, w) {
					t.Errorf("page contains %s", w)
				}
			}
		})
	}
	// The exported function follows what is bundled.
	var b bytes.Buffer
	if err := RenderPlayer(&b, PlayerPage{App: "live", Stream: "cam"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(b.String(), "is not bundled"); got == HLSJSBundled() {
		t.Errorf("bundled=%v but the not-bundled message shown=%v", HLSJSBundled(), got)
	}
}

func TestAssets(t *testing.T) {
	cases := map[string]string{
		"player.js":   "text/javascript; charset=utf-8",
		"index.js":    "text/javascript; charset=utf-8",
		"style.css":   "text/css; charset=utf-8",
		"favicon.svg": "image/svg+xml",
	}
	if HLSJSBundled() {
		cases[HLSJSAsset] = "text/javascript; charset=utf-8"
	}
	etag := regexp.MustCompile(`^"[0-9a-f]{32}"$`)
	for name, ct := range cases {
		a, ok := LookupAsset(name)
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if a.ContentType != ct {
			t.Errorf("%s: Content-Type %q, want %q", name, a.ContentType, ct)
		}
		if !etag.MatchString(a.ETag) || len(a.Version) != 12 || !strings.HasPrefix(a.ETag[1:], a.Version) {
			t.Errorf("%s: ETag %s, version %s", name, a.ETag, a.Version)
		}
		want, err := fs.ReadFile(Static, name)
		if err != nil || !bytes.Equal(want, a.Body) {
			t.Errorf("%s: body differs from Static (%v)", name, err)
		}
		if got := AssetURL(name); got != "/static/"+name+"?v="+a.Version {
			t.Errorf("AssetURL(%s) = %s", name, got)
		}
	}
	if _, ok := LookupAsset("nope.js"); ok {
		t.Error("found a missing asset")
	}
	if got := AssetURL("nope.js"); got != "/static/nope.js" {
		t.Errorf("AssetURL of a missing asset = %s", got)
	}
}

// TestHLSJSPinned checks that package.json pins hls.js exactly, that the
// lock file agrees, and that a bundled hls.min.js is that version.
func TestHLSJSPinned(t *testing.T) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, "package.json", &pkg)
	readJSON(t, "package-lock.json", &lock)
	v := pkg.Dependencies["hls.js"]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("package.json pins hls.js as %q, want an exact version", v)
	}
	if got := lock.Packages["node_modules/hls.js"].Version; got != v {
		t.Errorf("package-lock.json has hls.js %q, package.json %q", got, v)
	}
	if a, ok := LookupAsset(HLSJSAsset); ok && !bytes.Contains(a.Body, []byte(`"`+v+`"`)) {
		t.Errorf("bundled hls.min.js is not version %s: run go generate ./web", v)
	}
}

// TestScriptsParse runs node's syntax check over the committed scripts.
func TestScriptsParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	for _, f := range []string{"static/player.js", "static/index.js"} {
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
