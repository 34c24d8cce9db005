module github.com/livegate/gateway

go 1.26.0

require (
	github.com/bluenviron/gohlslib/v2 v2.4.5
	github.com/bluenviron/mediacommon/v2 v2.9.5
	github.com/go-chi/chi/v5 v5.5.0
	github.com/rs/zerolog v1.35.1
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/abema/go-mp4 v1.7.3 // indirect
	github.com/asticode/go-astikit v0.30.0 // indirect
	github.com/asticode/go-astits v1.16.0 // indirect
	github.com/google/uuid v1.3.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
