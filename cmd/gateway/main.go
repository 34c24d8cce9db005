// Command gateway is the RTMP-to-HLS live gateway: it accepts RTMP/RTMPS
// publishes and serves them as HLS (MPEG-TS, fMP4, LL-HLS) over HTTP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
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
	stop()
	// A second signal ends the process at once; so does the drain timeout.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	log.Info().Dur("drain_timeout", cfg.Shutdown.DrainTimeout).Msg("shutting down")
	closed := make(chan struct{})
	go func() {
		app.Close()
		close(closed)
	}()
	select {
	case <-closed:
		log.Info().Msg("stopped")
		return nil
	case <-again:
		return errors.New("second signal: stopped without draining")
	case <-time.After(cfg.Shutdown.DrainTimeout + time.Second):
		return errors.New("drain timeout: stopped without finishing")
	}
}
