# syntax=docker/dockerfile:1
# Build: docker build -t gateway .
# Run:   docker run -p 1935:1935 -p 1936:1936 -p 8080:8080 gateway

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund && mkdir -p static && cp node_modules/hls.js/dist/hls.min.js static/hls.min.js

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/static/hls.min.js web/static/hls.min.js
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
COPY config.yaml /etc/gateway/config.yaml
USER nonroot:nonroot
EXPOSE 1935 1936 8080
ENTRYPOINT ["/gateway"]
CMD ["-config", "/etc/gateway/config.yaml"]
