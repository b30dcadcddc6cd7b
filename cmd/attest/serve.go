package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/readiness"
	"github.com/attest-hq/attest/task"
	"github.com/attest-hq/attest/web"
)

func runServe(e *env, args []string) error {
	start := time.Now()
	fs := newFlags(e, "serve")
	var sf storeFlags
	sf.register(fs, e)
	defAddr := e.getenv("ATTEST_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	addr := fs.String("addr", defAddr, "listen address HOST:PORT (env ATTEST_ADDR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	db, err := sf.open(e)
	if err != nil {
		return err
	}
	defer db.Close()
	kr, err := loadKeyring(e, sf.data)
	if err != nil {
		return err
	}
	blobs, err := blob.NewDisk(filepath.Join(sf.data, "blobs"), kr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	secure := !isLoopback(ln.Addr())
	if v := e.getenv("ATTEST_SECURE_COOKIES"); v != "" {
		if secure, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("ATTEST_SECURE_COOKIES must be true or false")
		}
	}
	maxUpload := int64(100 << 20)
	if v := e.getenv("ATTEST_MAX_UPLOAD_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("ATTEST_MAX_UPLOAD_MB must be a positive number of megabytes")
		}
		maxUpload = int64(n) << 20
	}
	smtpCfg, err := smtpFromEnv(e)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	publicURL := e.getenv("ATTEST_PUBLIC_URL")
	if publicURL == "" {
		publicURL = url
	}
	srv, err := web.New(web.Config{DB: db, Sealer: kr, Blobs: blobs, Log: log, SecureCookies: secure, MaxUpload: maxUpload, PublicURL: publicURL})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Minute, // evidence uploads can be large
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	orgs, _ := account.CountOrgs(e.ctx, db.Q())
	log.Info("attest started", "url", url, "database", string(db.Dialect()), "data", sf.data, "key_id", kr.KeyID(),
		"startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(e.stdout, "Attest is listening on %s\n", url)
	if orgs == 0 {
		fmt.Fprintf(e.stdout, "First run: open %s/setup to create your organisation.\n", url)
	}

	// Background work (the task sweep, reminders and digests, their
	// deliveries) shares the server's lifetime; several instances on one
	// PostgreSQL split the jobs between them without doubling any.
	host, _ := os.Hostname()
	runner := jobs.NewRunner(db, jobs.Options{Log: log})
	runner.Handle(notify.JobKind, (&notify.Sender{DB: db, Sealer: kr, SMTP: smtpCfg, Hostname: host}).Deliver)
	runner.Handle(task.SweepJob, (&task.Sweeper{DB: db, Email: smtpCfg != nil, BaseURL: publicURL, PendingAcks: task.PolicyPending, Log: log}).Run)
	runner.Every(task.SweepJob, 5*time.Minute)
	// Last month's alert statistics, filed as monitoring evidence once a
	// month (the job is daily and skips a month already filed).
	mon, err := monitor.New(monitor.Config{DB: db, Log: log})
	if err != nil {
		return err
	}
	runner.Handle(monitor.EvidenceJob, mon.RecordLastMonth)
	runner.Every(monitor.EvidenceJob, 24*time.Hour)
	runner.Handle(readiness.Job, readiness.RecordAll(db))
	runner.Every(readiness.Job, 6*time.Hour)
	runner.Start(e.ctx)
	if smtpCfg == nil {
		log.Info("email reminders are off: set ATTEST_SMTP_URL and ATTEST_SMTP_FROM to send them")
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-e.ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Stop taking requests, then let running jobs finish, then close the
	// database (deferred above).
	if serveErr == nil {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			runner.Stop(shutdownCtx)
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	if err := runner.Stop(shutdownCtx); err != nil {
		log.Warn("background jobs did not finish in time; another instance or the next start retries them", "err", err)
	}
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// smtpFromEnv reads the mail settings; nil when email is not configured.
func smtpFromEnv(e *env) (*notify.SMTP, error) {
	raw := e.getenv("ATTEST_SMTP_URL")
	if raw == "" {
		return nil, nil
	}
	return notify.ParseSMTPURL(raw, e.getenv("ATTEST_SMTP_FROM"))
}

func isLoopback(a net.Addr) bool {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.IsLoopback()
	}
	return false
}
