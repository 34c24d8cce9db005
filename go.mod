module github.com/livegate/gateway

go 1.26.0

require github.com/bluenviron/mediacommon/v2 v2.9.5
