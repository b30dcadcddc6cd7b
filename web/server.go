// Package web serves Attest over HTTP: one route table, the middleware
// around it (authentication, authorization, CSRF, rate limits, headers),
// the JSON API (api_*.go) and the server-rendered UI (ui_*.go).
package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/store"
)

// Config is everything the server needs, built once by cmd/attest.
type Config struct {
	DB     *store.DB
	Sealer account.Sealer
	Blobs  blob.Store
	Log    *slog.Logger
	// SecureCookies marks cookies Secure. It is on unless the server
	// listens on loopback over plain HTTP, where browsers would drop them.
	SecureCookies bool
	MaxUpload     int64  // evidence file cap in bytes
	PublicURL     string // how people reach this server, for links in messages
	Issuer        string
	// Hooks lets later capabilities (detection, scheduling) add routes
	// without this package knowing them in advance.
	Extra []Route
}

// Server is the HTTP side of Attest.
type Server struct {
	db        *store.DB
	sealer    account.Sealer
	blobs     blob.Store
	log       *slog.Logger
	secure    bool
	maxUp     int64
	issuer    string
	publicURL string
	routes    []Route
	mux       *http.ServeMux
	limiter   *limiter
	metrics   *metrics
	ui        *ui
	openapi   []byte
	openOnce  sync.Once
}

// New builds the server and its route table.
func New(cfg Config) (*Server, error) {
	s := &Server{db: cfg.DB, sealer: cfg.Sealer, blobs: cfg.Blobs, log: cfg.Log, secure: cfg.SecureCookies,
		maxUp: cfg.MaxUpload, issuer: cfg.Issuer, publicURL: cfg.PublicURL, mux: http.NewServeMux(), limiter: newLimiter(10, time.Minute)}
	if s.log == nil {
		s.log = slogDiscard
	}
	if s.maxUp <= 0 {
		s.maxUp = 100 << 20
	}
	if s.issuer == "" {
		s.issuer = "Attest"
	}
	var err error
	if s.ui, err = newUI(); err != nil {
		return nil, err
	}
	s.metrics = newMetrics()
	// Each capability keeps its routes in its own file; this is the one
	// place they are joined into the table.
	for _, group := range [][]Route{s.apiRoutes(), s.policyRoutes(), s.registerRoutes(), s.taskRoutes(),
		s.detectRoutes(), s.privacyRoutes(), s.uiRoutes(), cfg.Extra} {
		s.routes = append(s.routes, group...)
	}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", s.ui.static()))
	return s, nil
}

// Handler returns the root handler with the middleware every request
// passes through.
func (s *Server) Handler() http.Handler {
	protect := http.NewCrossOriginProtection()
	return s.recoverPanics(securityHeaders(protect.Handler(s.mux)))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Error("health check: database", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// call is what a handler knows about the request beyond net/http.
type call struct {
	Actor         attest.Actor
	Session       *account.Session // UI requests only
	sessionSecret string
}

// wrap applies authentication and the route's authorization, then turns
// the handler's error into a response.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		c, err := s.authenticate(rec, r, rt)
		if err == nil {
			err = rt.handle(rec, r, c)
		}
		if err != nil {
			if rt.API {
				s.writeProblem(rec, r, err)
			} else {
				s.uiError(rec, r, c, err)
			}
		}
		s.metrics.observe(rt.Method+" "+rt.Pattern, rec.status, time.Since(start))
	})
}

// authenticate resolves who is calling and checks the route's action.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rt Route) (*call, error) {
	c := &call{}
	if rt.Action == ActPublic {
		if !rt.API {
			s.optionalSession(r, c)
		}
		return c, nil
	}
	if rt.API {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="attest"`)
			return c, attest.Unauthenticated("send an API token as Authorization: Bearer TOKEN")
		}
		actor, err := account.LookupToken(r.Context(), s.db.Q(), strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="attest", error="invalid_token"`)
			return c, err
		}
		c.Actor = actor
	} else {
		if err := s.requireSession(w, r, c); err != nil {
			return c, err
		}
	}
	if !Allowed(c.Actor.Role, rt.Action) {
		return c, attest.Forbidden("your role (" + string(c.Actor.Role) + ") does not allow this")
	}
	return c, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limiter is a fixed-window counter per key (client IP for logins). It is
// per instance; the account lockout in the database is what holds across
// several instances.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, window: per, hits: map[string]*window{}}
}

// allow counts one attempt for key and reports whether it is within limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 100000 { // bound memory under a spray of addresses
		for k, w := range l.hits {
			if now.Sub(w.start) > l.window {
				delete(l.hits, k)
			}
		}
	}
	w, ok := l.hits[key]
	if !ok || now.Sub(w.start) > l.window {
		l.hits[key] = &window{start: now, n: 1}
		return true
	}
	w.n++
	return w.n <= l.max
}

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "attest_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, statusClass(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func statusClass(code int) string {
	return string(rune('0'+code/100)) + "xx"
}

// renderBuffered is used by pages: render fully, then write, so a template
// error never leaves half a page.
func renderBuffered(w http.ResponseWriter, status int, contentType string, render func(*bytes.Buffer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

var errNoSession = errors.New("no session")
