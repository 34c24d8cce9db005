// Package httpserver is the gateway's HTTP origin. It maps URLs to HLS
// objects of an [Origin], answers with the exact Content-Type, CORS and
// Cache-Control headers a CDN and hls.js expect, serves the bytes through
// [net/http.ServeContent] (Range, ETag, Last-Modified, 304, HEAD), gzips
// playlists, and hosts the stream list and player pages of package web, a
// small JSON API and the health endpoints.
//
// It owns URLs, headers and status codes. It knows nothing of how segments
// and playlists are made: that is package hls, reached only through the
// Origin interface.
//
// Routes:
//
//	GET|HEAD /{app}/{stream}/{file}          HLS object (.m3u8 .ts .m4s .mp4)
//	GET|HEAD /{app}/{stream}/                player page
//	GET|HEAD /{app}/{stream}                 301 to the player page
//	GET|HEAD /                               live stream list page
//	GET|HEAD /static/*                       embedded assets (hls.js, player)
//	GET|HEAD /api/v1/streams                 JSON list of streams
//	GET|HEAD /api/v1/streams/{app}/{stream}  JSON of one stream
//	DELETE   /api/v1/streams/{app}/{stream}  disconnect the publisher, end the stream (204; 404 when not live)
//	GET|HEAD /metrics                        Prometheus metrics (when Server.Metrics is set)
//	GET|HEAD /healthz, /readyz               liveness, readiness
//	OPTIONS  anything                        CORS preflight, 204
//
// The app names "api" and "static" are therefore reserved. /api/ and
// /metrics each take an optional bearer token (Server.APIToken,
// Server.MetricsToken); without it they answer 401 with a Bearer challenge.
//
// Besides serving, the Server counts requests by kind and status, the
// bytes it served and the clients it served per stream (the viewer
// estimate), and the waits of LL-HLS blocking requests, whose number it
// bounds (Server.MaxBlockingRequests): see Stats and Traffic. Counting
// costs each request a few atomic adds and, for HLS objects, one short
// per-stream lock.
package httpserver
