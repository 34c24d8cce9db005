package httpserver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/livegate/gateway/hls"
)

// apiStream is the JSON form of one stream in /api/v1/streams.
type apiStream struct {
	App         string     `json:"app"`
	Name        string     `json:"name"`
	Live        bool       `json:"live"`
	Ended       bool       `json:"ended"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	Segments    int        `json:"segments"`
	Bandwidth   int        `json:"bandwidth"`
	Tracks      []apiTrack `json:"tracks"`
	PlaylistURL string     `json:"playlist_url"`
	PlayerURL   string     `json:"player_url"`
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

func toAPIStream(si hls.StreamInfo) apiStream {
	base := "/" + url.PathEscape(si.App) + "/" + url.PathEscape(si.Name) + "/"
	out := apiStream{
		App:         si.App,
		Name:        si.Name,
		Live:        si.Live,
		Ended:       si.Ended,
		Segments:    si.Segments,
		Bandwidth:   si.Bandwidth,
		Tracks:      make([]apiTrack, 0, len(si.Tracks)),
		PlaylistURL: base + "index.m3u8",
		PlayerURL:   base,
	}
	if !si.StartedAt.IsZero() {
		t := si.StartedAt.UTC()
		out.StartedAt = &t
	}
	for _, t := range si.Tracks {
		out.Tracks = append(out.Tracks, apiTrack(t))
	}
	return out
}

// apiStreams answers GET /api/v1/streams: every known stream, sorted by
// app and name.
func (s *Server) apiStreams(w http.ResponseWriter, _ *http.Request) {
	infos := s.Origin.Streams()
	list := apiStreamList{Streams: make([]apiStream, 0, len(infos))}
	for _, si := range infos {
		list.Streams = append(list.Streams, toAPIStream(si))
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
	for _, si := range s.Origin.Streams() {
		if si.App == app && si.Name == name {
			writeJSON(w, http.StatusOK, toAPIStream(si))
			return
		}
	}
	writeJSONError(w, http.StatusNotFound, "stream not found")
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
