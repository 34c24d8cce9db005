package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

// HLSJSAsset is the name, below static/, of the bundled hls.js build.
const HLSJSAsset = "hls.min.js"

// staticFiles holds the committed assets and, when `go generate ./web` ran,
// hls.js. "all:" keeps the pattern valid whichever files are present.
//
//go:embed all:static
var staticFiles embed.FS

//go:embed templates/*.html
var templateFiles embed.FS

// Static is the tree served under /static/: the committed style sheet,
// scripts and icon, plus hls.min.js when it was bundled.
var Static fs.FS = mustSub(staticFiles, "static")

// Asset is one static file, prepared once for serving.
type Asset struct {
	// Name is the path below /static/, e.g. "player.js".
	Name string
	// Body is the file's content.
	Body []byte
	// ContentType is the exact Content-Type to send (never guessed from the
	// host's mime table).
	ContentType string
	// ETag is a strong entity tag derived from the content, quoted.
	ETag string
	// Version is a short content hash used to make asset URLs unique per
	// build, so that they can be cached as immutable.
	Version string
}

// The prepared assets and parsed templates are built once at package
// initialisation and never modified afterwards.
var (
	assets    = loadAssets(Static)
	templates = template.Must(template.New("").Funcs(template.FuncMap{
		"asset": AssetURL,
	}).ParseFS(templateFiles, "templates/*.html"))
)

// LookupAsset returns the prepared asset with the given name (relative to
// /static/), or false if there is none.
func LookupAsset(name string) (*Asset, bool) {
	a, ok := assets[name]
	return a, ok
}

// AssetURL returns the absolute URL path of a static asset with its content
// version in the query ("/static/player.js?v=0123abcd"), so that a new build
// never meets a stale cached copy. Unknown names get no version.
func AssetURL(name string) string {
	if a, ok := assets[name]; ok {
		return "/static/" + a.Name + "?v=" + a.Version
	}
	return "/static/" + name
}

// HLSJSBundled reports whether hls.js was bundled into this build.
func HLSJSBundled() bool {
	_, ok := assets[HLSJSAsset]
	return ok
}

// PlayerPage is what the player page of one stream needs.
type PlayerPage struct {
	// App and Stream name the stream; the page plays ./index.m3u8.
	App, Stream string
	// Embed renders only the video, for use inside an <iframe>.
	Embed bool
}

type playerData struct {
	PlayerPage
	HLSJS bool
}

// RenderPlayer writes the player page of one stream as HTML.
func RenderPlayer(w io.Writer, p PlayerPage) error {
	return renderPlayer(w, p, HLSJSBundled())
}

func renderPlayer(w io.Writer, p PlayerPage, hlsjs bool) error {
	if err := templates.ExecuteTemplate(w, "player.html", playerData{PlayerPage: p, HLSJS: hlsjs}); err != nil {
		return fmt.Errorf("render player page for %s/%s: %w", p.App, p.Stream, err)
	}
	return nil
}

// RenderIndex writes the live stream list page as HTML. The page loads and
// refreshes its list from /api/v1/streams in the browser.
func RenderIndex(w io.Writer) error {
	if err := templates.ExecuteTemplate(w, "index.html", nil); err != nil {
		return fmt.Errorf("render index page: %w", err)
	}
	return nil
}

// contentTypes maps the extensions shipped in static/ to their exact types.
var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

func loadAssets(fsys fs.FS) map[string]*Asset {
	out := make(map[string]*Asset)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		hexSum := hex.EncodeToString(sum[:])
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		out[p] = &Asset{
			Name:        p,
			Body:        body,
			ContentType: ct,
			ETag:        `"` + hexSum[:32] + `"`,
			Version:     hexSum[:12],
		}
		return nil
	})
	if err != nil {
		// The tree is embedded at build time: failing to read it is a
		// build defect, not a runtime condition.
		panic(fmt.Sprintf("web: load embedded assets: %v", err))
	}
	return out
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("web: sub %s: %v", dir, err))
	}
	return sub
}
