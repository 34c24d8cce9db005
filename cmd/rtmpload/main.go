// Command rtmpload publishes many concurrent RTMP streams to a gateway for a
// bounded time and reports what it cost the gateway.
//
// Every stream replays the same FLV file in real time (each message leaves
// when its timestamp is due), looping it with continuous timestamps, on its
// own connection to rtmp://HOST:PORT/APP/NAME-i. Stream starts are spread
// over -ramp; the measurement window of -duration begins once all have
// started. With -pid the gateway's CPU time and RSS are read from /proc at
// the start and end of the window; with -http every stream's index.m3u8 is
// fetched at the end of the window and must answer 200.
//
//	go build -o /tmp/gw ./cmd/gateway && /tmp/gw -config gw.yaml &
//	go run ./cmd/rtmpload -file clip.flv -n 50 -duration 60s \
//	    -url rtmp://127.0.0.1:1935/live/load -http http://127.0.0.1:8080 -pid $!
//
// The tool is meant for the gateway on the same machine: it refuses targets
// other than loopback addresses unless -allow-remote is given. Every run is
// bounded: -duration is required and at most 10 minutes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Bounds on the run, so that a mistyped flag cannot load the machine for
// hours.
const (
	maxDuration = 10 * time.Minute
	maxRamp     = time.Minute
	maxStreams  = 2000
)

// options are the command-line settings.
type options struct {
	url         string
	n           int
	duration    time.Duration
	ramp        time.Duration
	file        string
	chunkSize   uint
	pid         int
	http        string
	allowRemote bool
	progress    time.Duration
	setup       time.Duration
	cpuProfile  string

	// Derived from url.
	addr, app, name string
}

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtmpload:", err)
	}
	os.Exit(code)
}

// run parses args, runs the load and writes the summary to stdout. The exit
// code is 0 when every stream ran to the end (and, with -http, every
// playlist answered), 1 when some did not, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) (int, error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, nil
		}
		return 2, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return 1, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 1, err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadTest(ctx, o, stderr)
	if err != nil {
		return 1, err
	}
	res.print(stdout)
	if res.failed() {
		return 1, nil
	}
	return 0, nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("rtmpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "rtmp://127.0.0.1:1935/live/load", "publish URL rtmp://HOST:PORT/APP/NAME; stream i publishes NAME-i (NAME defaults to \"load\")")
	fs.IntVar(&o.n, "n", 1, fmt.Sprintf("number of concurrent streams (1..%d)", maxStreams))
	fs.DurationVar(&o.duration, "duration", 0, fmt.Sprintf("measurement window once every stream has started (required, at most %v)", maxDuration))
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, fmt.Sprintf("spread the stream starts evenly over this time (at most %v)", maxRamp))
	fs.StringVar(&o.file, "file", "", "FLV file to replay in a loop (required)")
	fs.UintVar(&o.chunkSize, "chunk", 4096, "outbound RTMP chunk size, announced with Set Chunk Size")
	fs.IntVar(&o.pid, "pid", 0, "gateway process id: report its CPU and RSS from /proc")
	fs.StringVar(&o.http, "http", "", "gateway HTTP base URL (http://127.0.0.1:8080): check every stream's index.m3u8 at the end")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow targets other than loopback addresses")
	fs.DurationVar(&o.progress, "progress", 10*time.Second, "progress line interval on stderr (0: none)")
	fs.DurationVar(&o.setup, "setup-timeout", 10*time.Second, "bound on each stream's dial, handshake and publish")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the tool's own CPU profile to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: rtmpload -file clip.flv -duration 60s [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// validate checks the options and derives addr, app and name from url.
func (o *options) validate() error {
	switch {
	case o.file == "":
		return errors.New("-file is required")
	case o.duration <= 0:
		return errors.New("-duration is required (the run must be bounded)")
	case o.duration > maxDuration:
		return fmt.Errorf("-duration %v exceeds %v", o.duration, maxDuration)
	case o.ramp < 0 || o.ramp > maxRamp:
		return fmt.Errorf("-ramp %v outside 0..%v", o.ramp, maxRamp)
	case o.n < 1 || o.n > maxStreams:
		return fmt.Errorf("-n %d outside 1..%d", o.n, maxStreams)
	case o.chunkSize < 128 || o.chunkSize > 1<<20:
		return fmt.Errorf("-chunk %d outside 128..1048576", o.chunkSize)
	case o.setup <= 0 || o.setup > time.Minute:
		return fmt.Errorf("-setup-timeout %v outside (0, 1m]", o.setup)
	case o.pid < 0:
		return fmt.Errorf("-pid %d is negative", o.pid)
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "rtmp" {
		return fmt.Errorf("-url %q: scheme must be rtmp", o.url)
	}
	o.addr = u.Host
	if u.Port() == "" {
		o.addr = net.JoinHostPort(u.Hostname(), "1935")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		o.app, o.name = parts[0], "load"
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		o.app, o.name = parts[0], parts[1]
	default:
		return fmt.Errorf("-url %q: path must be /APP or /APP/NAME", o.url)
	}
	if err := o.checkTarget(u.Hostname(), "-url"); err != nil {
		return err
	}
	if o.http != "" {
		h, err := url.Parse(o.http)
		if err != nil {
			return fmt.Errorf("-http: %w", err)
		}
		if h.Scheme != "http" && h.Scheme != "https" {
			return fmt.Errorf("-http %q: scheme must be http or https", o.http)
		}
		if err := o.checkTarget(h.Hostname(), "-http"); err != nil {
			return err
		}
		o.http = strings.TrimSuffix(o.http, "/")
	}
	return nil
}

// checkTarget refuses a host that is not a loopback address, unless
// -allow-remote. Names other than "localhost" are refused without a lookup:
// what they resolve to can change between the check and the dial.
func (o *options) checkTarget(host, flagName string) error {
	if o.allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%s: %q is not a loopback address (use 127.0.0.1, or -allow-remote to load another machine)", flagName, host)
}

// isLoopback reports whether host is "localhost" or a loopback IP literal.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
