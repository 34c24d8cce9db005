package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The documented config.yaml must describe exactly the embedded defaults.
func TestConfigYAMLMatchesDefaults(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if def := DefaultConfig(); !reflect.DeepEqual(cfg, def) {
		t.Fatalf("config.yaml differs from defaults:\nfile:\n%s\ndefaults:\n%s", cfg, def)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key", "hls:\n  segmentLength: 2s\n", "segmentLength"},
		{"bad variant", "hls:\n  variant: dash\n", "hls.variant"},
		{"bad duration", "hls:\n  segmentDuration: two\n", "segmentDuration"},
		{"too short", "hls:\n  segmentDuration: 10ms\n", "hls.segmentDuration"},
		{"bad level", "log:\n  level: loud\n", "log.level"},
		{"cert without key", "rtmps:\n  cert: a.pem\n", "rtmps"},
		{"window", "hls:\n  segmentCount: 1\n", "hls.segmentCount"},
		{"bad takeover", "hls:\n  takeover: maybe\n", "hls.takeover"},
		{"negative max streams", "hls:\n  maxStreams: -1\n", "hls.maxStreams"},
		{"group without placeholder", "hls:\n  groups:\n    - renditions: [\"hd\"]\n", "hls.groups[0]"},
		{"groups with mpegts", "hls:\n  variant: mpegts\n  groups:\n    - renditions: [\"{stream}_hd\"]\n", "hls.groups"},
		{"group misspelt key", "hls:\n  groups:\n    - rendition: [\"{stream}_hd\"]\n", "hls.groups[0].rendition"},
		{"no blocking requests", "http:\n  maxBlockingRequests: 0\n", "http.maxBlockingRequests"},
		{"token with a space", "http:\n  apiToken: \"a b\"\n", "http.apiToken"},
		{"metrics token with a newline", "http:\n  metricsToken: \"a\\nb\"\n", "http.metricsToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "hls:\n  variant: lowlatency\n  partDuration: 300ms\n  takeover: reject\n  maxStreams: 0\n" +
		"http:\n  apiToken: t0k3n\n  maxBlockingRequests: 5\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HLS.Variant != "lowlatency" || cfg.HLS.PartDuration != 300*time.Millisecond || cfg.HLS.SegmentCount != 6 {
		t.Fatalf("unexpected %+v", cfg.HLS)
	}
	if cfg.HLS.Takeover != "reject" || cfg.HLS.MaxStreams != 0 || cfg.HTTP.APIToken != "t0k3n" || cfg.HTTP.MaxBlockingRequests != 5 {
		t.Fatalf("unexpected %+v %+v", cfg.HLS, cfg.HTTP)
	}
}
