package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/livegate/gateway/hls"
)

// Config is the whole gateway configuration. Every field has a default
// (DefaultConfig); config.yaml at the repository root documents them all.
type Config struct {
	Log   LogConfig   `yaml:"log"`
	RTMP  RTMPConfig  `yaml:"rtmp"`
	RTMPS RTMPSConfig `yaml:"rtmps"`
	HTTP  HTTPConfig  `yaml:"http"`
	HLS   HLSConfig   `yaml:"hls"`
	Auth  AuthConfig  `yaml:"auth"`
	// Shutdown shapes the drain on SIGTERM/SIGINT.
	Shutdown ShutdownConfig `yaml:"shutdown"`
}

// ShutdownConfig bounds the graceful stop.
type ShutdownConfig struct {
	// DrainTimeout bounds the whole stop; past it the process exits anyway.
	DrainTimeout time.Duration `yaml:"drainTimeout"`
	// ServeEnded is how long HTTP keeps serving after every playlist got
	// EXT-X-ENDLIST, so players and CDNs fetch the final playlists
	// (/readyz answers 503 meanwhile).
	ServeEnded time.Duration `yaml:"serveEnded"`
}

// AuthConfig decides who may publish: static keys, an admission webhook, and
// notify webhooks for publish start and stop.
type AuthConfig struct {
	Keys    []KeyConfig   `yaml:"keys"`
	Webhook WebhookConfig `yaml:"webhook"`
	Notify  NotifyConfig  `yaml:"notify"`
}

// KeyConfig maps a secret publish key to the stream name viewers see.
type KeyConfig struct {
	App    string `yaml:"app"`
	Stream string `yaml:"stream"`
	Key    string `yaml:"key"`
}

// WebhookConfig is the admission webhook: POSTed JSON, 2xx admits.
type WebhookConfig struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// NotifyConfig is the publish start/stop notification webhook.
type NotifyConfig struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // trace, debug, info, warn, error
	Format string `yaml:"format"` // console or json
}

// RTMPConfig is the plain RTMP listener and the limits shared with RTMPS.
type RTMPConfig struct {
	Listen           string        `yaml:"listen"`
	HandshakeTimeout time.Duration `yaml:"handshakeTimeout"`
	PublishTimeout   time.Duration `yaml:"publishTimeout"`
	ReadTimeout      time.Duration `yaml:"readTimeout"`
	MaxMessageSize   int           `yaml:"maxMessageSize"`
	MaxConnections   int           `yaml:"maxConnections"`
}

// RTMPSConfig is the TLS listener, enabled when Cert and Key are set.
type RTMPSConfig struct {
	Listen string `yaml:"listen"`
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
}

// HTTPConfig is the HLS origin, API and player listener.
type HTTPConfig struct {
	Listen      string `yaml:"listen"`
	AllowOrigin string `yaml:"allowOrigin"`
	// APIToken and MetricsToken are bearer tokens for /api/ and /metrics;
	// empty leaves the endpoint open.
	APIToken     string `yaml:"apiToken"`
	MetricsToken string `yaml:"metricsToken"`
	// MaxBlockingRequests bounds the LL-HLS requests waiting at once.
	MaxBlockingRequests int `yaml:"maxBlockingRequests"`
}

// HLSConfig shapes the segmenter output.
type HLSConfig struct {
	Variant string `yaml:"variant"` // mpegts, fmp4, lowlatency
	// Ladder serves several video tracks of one publication (E-RTMP
	// multitrack) as an adaptive ladder (fmp4 and lowlatency).
	Ladder          bool          `yaml:"ladder"`
	SegmentDuration time.Duration `yaml:"segmentDuration"`
	PartDuration    time.Duration `yaml:"partDuration"`
	SegmentCount    int           `yaml:"segmentCount"`
	ReconnectWindow time.Duration `yaml:"reconnectWindow"`
	Retention       time.Duration `yaml:"retention"`
	Takeover        string        `yaml:"takeover"` // takeover, reject
	MaxStreams      int           `yaml:"maxStreams"`
	// Groups serve separate publications as one adaptive ladder.
	Groups []GroupConfig `yaml:"groups"`
}

// GroupConfig is one rendition group rule: stream-name patterns with
// "{stream}" standing for the group's name.
type GroupConfig struct {
	Renditions []string `yaml:"renditions"`
}

// DefaultConfig returns the embedded defaults: the gateway runs on them with no
// configuration file.
func DefaultConfig() Config {
	return Config{
		Log: LogConfig{Level: "info", Format: "console"},
		RTMP: RTMPConfig{
			Listen:           ":1935",
			HandshakeTimeout: 5 * time.Second,
			PublishTimeout:   10 * time.Second,
			ReadTimeout:      10 * time.Second,
			MaxMessageSize:   8 << 20,
			MaxConnections:   1000,
		},
		RTMPS: RTMPSConfig{Listen: ":1936"},
		HTTP:  HTTPConfig{Listen: ":8080", AllowOrigin: "*", MaxBlockingRequests: 10000},
		HLS: HLSConfig{
			Variant:         "fmp4",
			Ladder:          true,
			SegmentDuration: 2 * time.Second,
			PartDuration:    200 * time.Millisecond,
			SegmentCount:    6,
			ReconnectWindow: 10 * time.Second,
			Retention:       60 * time.Second,
			Takeover:        "takeover",
			MaxStreams:      100,
			Groups:          []GroupConfig{},
		},
		Auth: AuthConfig{
			Keys:    []KeyConfig{},
			Webhook: WebhookConfig{Timeout: 3 * time.Second},
			Notify:  NotifyConfig{Timeout: 3 * time.Second, Retries: 3},
		},
		Shutdown: ShutdownConfig{DrainTimeout: 10 * time.Second, ServeEnded: 2 * time.Second},
	}
}

// LoadConfig reads a YAML file over the defaults. Unknown keys and bad values
// are errors that name the key.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, cfg.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := decodeConfig(data, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

func decodeConfig(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) { // an empty file keeps the defaults
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return nameKeys(data, te)
	}
	return err
}

// nameKeys rewrites yaml.v3's "line N: ..." messages to start with the dotted
// key on that line, so every error names the key.
func nameKeys(data []byte, te *yaml.TypeError) error {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return te
	}
	keys := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				keys[n.Content[i].Line] = p
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := keys[c.Line]; !ok {
					keys[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(&root, "")
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
			if k, ok := keys[line]; ok {
				msg = k + ": " + msg
			}
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// Validate checks every value and names the offending key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		bad("log.format", "%q is not one of console, json", c.Log.Format)
	}
	if c.RTMP.Listen == "" {
		bad("rtmp.listen", "must not be empty")
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, got %v", d)
		}
	}
	positive("rtmp.handshakeTimeout", c.RTMP.HandshakeTimeout)
	positive("rtmp.publishTimeout", c.RTMP.PublishTimeout)
	positive("rtmp.readTimeout", c.RTMP.ReadTimeout)
	if c.RTMP.MaxMessageSize < 64<<10 || c.RTMP.MaxMessageSize > 256<<20 {
		bad("rtmp.maxMessageSize", "must be between 65536 and 268435456 bytes, got %d", c.RTMP.MaxMessageSize)
	}
	if c.RTMP.MaxConnections < 1 {
		bad("rtmp.maxConnections", "must be at least 1, got %d", c.RTMP.MaxConnections)
	}
	if (c.RTMPS.Cert == "") != (c.RTMPS.Key == "") {
		bad("rtmps", "cert and key must be set together")
	}
	if c.RTMPS.Cert != "" && c.RTMPS.Listen == "" {
		bad("rtmps.listen", "must not be empty when a certificate is set")
	}
	if c.HTTP.Listen == "" {
		bad("http.listen", "must not be empty")
	}
	token := func(key, v string) {
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			bad(key, "must not contain spaces or control characters")
		}
	}
	token("http.apiToken", c.HTTP.APIToken)
	token("http.metricsToken", c.HTTP.MetricsToken)
	if c.HTTP.MaxBlockingRequests < 1 {
		bad("http.maxBlockingRequests", "must be at least 1, got %d", c.HTTP.MaxBlockingRequests)
	}
	switch c.HLS.Variant {
	case "mpegts", "fmp4", "lowlatency":
	default:
		bad("hls.variant", "%q is not one of mpegts, fmp4, lowlatency", c.HLS.Variant)
	}
	if c.HLS.SegmentDuration < 500*time.Millisecond || c.HLS.SegmentDuration > 30*time.Second {
		bad("hls.segmentDuration", "must be between 500ms and 30s, got %v", c.HLS.SegmentDuration)
	}
	if c.HLS.PartDuration < 50*time.Millisecond || c.HLS.PartDuration > c.HLS.SegmentDuration/2 {
		bad("hls.partDuration", "must be between 50ms and half of hls.segmentDuration, got %v", c.HLS.PartDuration)
	}
	if c.HLS.SegmentCount < 3 || c.HLS.SegmentCount > 100 {
		bad("hls.segmentCount", "must be between 3 and 100, got %d", c.HLS.SegmentCount)
	}
	if c.HLS.ReconnectWindow < 0 {
		bad("hls.reconnectWindow", "must not be negative, got %v", c.HLS.ReconnectWindow)
	}
	if c.HLS.Retention < 0 {
		bad("hls.retention", "must not be negative, got %v", c.HLS.Retention)
	}
	switch c.HLS.Takeover {
	case "takeover", "reject":
	default:
		bad("hls.takeover", "%q is not one of takeover, reject", c.HLS.Takeover)
	}
	if c.HLS.MaxStreams < 0 {
		bad("hls.maxStreams", "must not be negative (0: no limit), got %d", c.HLS.MaxStreams)
	}
	if len(c.HLS.Groups) > 0 && c.HLS.Variant == "mpegts" {
		bad("hls.groups", "rendition groups need hls.variant fmp4 or lowlatency")
	}
	for i, g := range c.HLS.Groups {
		if err := hls.CheckGroupRule(hls.GroupRule{Renditions: g.Renditions}); err != nil {
			bad(fmt.Sprintf("hls.groups[%d]", i), "%v", err)
		}
	}
	positive("auth.webhook.timeout", c.Auth.Webhook.Timeout)
	positive("auth.notify.timeout", c.Auth.Notify.Timeout)
	positive("shutdown.drainTimeout", c.Shutdown.DrainTimeout)
	if c.Shutdown.ServeEnded < 0 || c.Shutdown.ServeEnded >= c.Shutdown.DrainTimeout {
		bad("shutdown.serveEnded", "must be at least 0 and below shutdown.drainTimeout, got %v", c.Shutdown.ServeEnded)
	}
	if c.Auth.Notify.Retries < 0 || c.Auth.Notify.Retries > 10 {
		bad("auth.notify.retries", "must be between 0 and 10, got %d", c.Auth.Notify.Retries)
	}
	return errors.Join(errs...)
}

// String renders the configuration as YAML (for -print-config).
func (c Config) String() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(c)
	return b.String()
}
