package httpserver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/livegate/gateway/hls"
)

// apiStream is the JSON form of one stream in /api/v1/streams.
type apiStream struct {
	App   string `json:"app"`
	Name  string `json:"name"`
	Live  bool   `json:"live"`
	Ended bool   `json:"ended"`
	// StartedAt is when the stream was created; PublishedAt when its live
	// publication started, and Uptime the seconds since (0 when not live).
	StartedAt   *time.Time `json:"started_at,omitempty"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	Uptime      int64      `json:"uptime"`
	// Publisher is the live publisher's address, ip:port.
	Publisher string `json:"publisher,omitempty"`
	// Segments is the playlist window; SegmentsWritten every segment made.
	Segments        int    `json:"segments"`
	SegmentsWritten uint64 `json:"segments_written"`
	// Bandwidth is the peak segment bitrate of the playlist window; the
	// bitrates are in bits/s over the last 10 s: in from the publisher,
	// out to HTTP clients.
	Bandwidth  int    `json:"bandwidth"`
	BitrateIn  int    `json:"bitrate_in"`
	BitrateOut int    `json:"bitrate_out"`
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	// Viewers estimates the players: distinct client IP and User-Agent
	// pairs that fetched the media playlist, segments or parts within the
	// last two target durations.
	Viewers int        `json:"viewers"`
	Tracks  []apiTrack `json:"tracks"`
	// Renditions are the media playlists of an adaptive ladder.
	Renditions  []apiRendition `json:"renditions,omitempty"`
	PlaylistURL string         `json:"playlist_url"`
	PlayerURL   string         `json:"player_url"`
}

// apiRendition is one media playlist of a ladder; member and publisher
// name the group member feeding it.
type apiRendition struct {
	Playlist  string `json:"playlist"`
	Kind      string `json:"kind"`
	Live      bool   `json:"live"`
	Member    string `json:"member,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Bandwidth int    `json:"bandwidth"`
}

// apiTrack is the JSON form of one track.
type apiTrack struct {
	Kind       string  `json:"kind"`
	Codec      string  `json:"codec"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	FrameRate  float64 `json:"frame_rate,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
}

type apiStreamList struct {
	Streams []apiStream `json:"streams"`
}

type apiError struct {
	Error string `json:"error"`
}

func toAPIStream(si hls.StreamInfo, tr StreamTraffic, now time.Time) apiStream {
	base := "/" + url.PathEscape(si.App) + "/" + url.PathEscape(si.Name) + "/"
	out := apiStream{
		App:             si.App,
		Name:            si.Name,
		Live:            si.Live,
		Ended:           si.Ended,
		Publisher:       si.Publisher,
		Segments:        si.Segments,
		SegmentsWritten: si.SegmentsWritten,
		Bandwidth:       si.Bandwidth,
		BitrateIn:       si.BitrateIn,
		BitrateOut:      tr.BitrateOut,
		BytesIn:         si.BytesIn,
		BytesOut:        tr.BytesSent,
		Viewers:         tr.Viewers,
		Tracks:          make([]apiTrack, 0, len(si.Tracks)),
		PlaylistURL:     base + hls.MultivariantName,
		PlayerURL:       base,
	}
	if !si.StartedAt.IsZero() {
		t := si.StartedAt.UTC()
		out.StartedAt = &t
	}
	if !si.PublishedAt.IsZero() {
		t := si.PublishedAt.UTC()
		out.PublishedAt = &t
		if si.Live {
			out.Uptime = int64(max(now.Sub(si.PublishedAt), 0) / time.Second)
		}
	}
	for _, t := range si.Tracks {
		out.Tracks = append(out.Tracks, apiTrack(t))
	}
	for _, r := range si.Renditions {
		out.Renditions = append(out.Renditions, apiRendition(r))
	}
	return out
}

// apiStreams answers GET /api/v1/streams: every known stream, sorted by
// app and name.
func (s *Server) apiStreams(w http.ResponseWriter, _ *http.Request) {
	infos := s.Origin.Streams()
	now := s.Now()
	traffic := s.traffic.snapshot(infos, now)
	list := apiStreamList{Streams: make([]apiStream, 0, len(infos))}
	for i, si := range infos {
		list.Streams = append(list.Streams, toAPIStream(si, traffic[i], now))
	}
	slices.SortFunc(list.Streams, func(a, b apiStream) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, list)
}

// apiStream answers GET /api/v1/streams/{app}/{stream}.
func (s *Server) apiStream(w http.ResponseWriter, r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	app, name := rctx.URLParam("app"), rctx.URLParam("stream")
	infos := s.Origin.Streams()
	for _, si := range infos {
		if si.App == app && si.Name == name {
			now := s.Now()
			// The snapshot of every stream also prunes the accounts.
			traffic := s.traffic.snapshot(infos, now)
			var tr StreamTraffic
			for _, t := range traffic {
				if t.App == app && t.Stream == name {
					tr = t
				}
			}
			writeJSON(w, http.StatusOK, toAPIStream(si, tr, now))
			return
		}
	}
	writeJSONError(w, http.StatusNotFound, "stream not found")
}

// apiKick answers DELETE /api/v1/streams/{app}/{stream}: the live
// publisher is disconnected and the stream ends (EXT-X-ENDLIST) at once.
// 204 when done, 404 when the stream has no live publisher.
func (s *Server) apiKick(w http.ResponseWriter, r *http.Request) {
	k, ok := s.Origin.(Kicker)
	if !ok {
		apiMethodNotAllowed(w, r)
		return
	}
	rctx := chi.RouteContext(r.Context())
	app, name := rctx.URLParam("app"), rctx.URLParam("stream")
	if !validName(app) || !validName(name) {
		writeJSONError(w, http.StatusNotFound, "stream not live")
		return
	}
	err := k.Kick(app, name)
	switch {
	case err == nil:
		s.Logger.Info().Str("app", app).Str("stream", name).Str("remote", r.RemoteAddr).Msg("publisher kicked through the API")
		h := w.Header()
		h["Cache-Control"] = hdrNoStore
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, hls.ErrNotFound):
		writeJSONError(w, http.StatusNotFound, "stream not live")
	default:
		s.Logger.Error().Err(err).Str("app", app).Str("stream", name).Msg("kick failed")
		writeJSONError(w, http.StatusInternalServerError, "kick failed")
	}
}

// Traffic returns what was served for each stream the origin holds, in the
// order of Origin.Streams.
func (s *Server) Traffic() []StreamTraffic {
	s.init()
	return s.traffic.snapshot(s.Origin.Streams(), s.Now())
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// writeJSON sends v as JSON. API answers describe the present moment and
// are not cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNosniff
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
