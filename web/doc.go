// Package web holds the gateway's browser pages: the live stream list and
// the hls.js player page, with their templates and static assets embedded in
// the binary so that they work without internet access.
//
// hls.js is third-party code and is not committed: `go generate ./web`
// installs the version pinned in package-lock.json from the npm registry and
// copies its minified build into static/. A binary built without it still
// compiles and serves the pages; the player then says so and falls back to
// native HLS playback (Safari).
//
// The package renders pages and exposes assets; routing, caching headers and
// the HLS objects themselves belong to package httpserver.
package web

//go:generate sh -c "npm ci --no-audit --no-fund && mkdir -p static && cp node_modules/hls.js/dist/hls.min.js static/hls.min.js && cp node_modules/hls.js/LICENSE static/hls.js.LICENSE.txt"
