// Command gateway is the RTMP-to-HLS live gateway: it accepts RTMP/RTMPS
// publishes and serves them as HLS (MPEG-TS, fMP4, LL-HLS) over HTTP.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	configPath := fs.String("config", "", "YAML configuration file (default: embedded defaults, see config.yaml)")
	printConfig := fs.Bool("print-config", false, "print the effective configuration and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if *printConfig {
		fmt.Print(cfg)
		return nil
	}
	log := newLogger(cfg.Log, os.Stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	app, err := NewApp(cfg, log)
	if err != nil {
		return err
	}
	if err := app.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal now ends the process at once
	log.Info().Msg("shutting down")
	app.Close()
	return nil
}
