package web

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/store"
)

// Caps of an event upload: the body as sent, and what a gzip body may
// expand to (a small bomb must not keep the engine busy for hours).
const (
	maxIngestBody     = 256 << 20
	maxIngestInflated = 4 << 30
)

// detectAPI serves event ingestion, alerts, suppressions and detection
// settings. Suppressions and settings are detection configuration, so
// they take ActDetectIngest (owner and admin); triage takes
// ActAlertTriage, which members on call also hold.
type detectAPI struct {
	s   *Server
	m   *monitor.Monitor
	err error // building the monitor failed: every route answers it
}

// detectRoutes serves event ingestion and alerts (JSON API and pages).
func (s *Server) detectRoutes() []Route {
	d := &detectAPI{s: s}
	d.m, d.err = monitor.New(monitor.Config{DB: s.db, Log: s.log})
	wrap := func(h handlerFunc) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request, c *call) error {
			if d.err != nil {
				return d.err
			}
			return h(w, r, c)
		}
	}
	routes := []Route{
		{Method: "POST", Pattern: "/api/v1/events", Action: ActDetectIngest, API: true,
			Summary: "Send log events (query format=auto|" + strings.Join(ingest.Formats[1:], "|") + "; body: the log as sent by its source, " +
				"optionally gzip, at most 256 MiB) through the organisation's rules and baselines; answers what was read, skipped and raised",
			Response: monitor.IngestSummary{MalformedSamples: []ingest.Malformed{{}}, AlertIDs: []string{}}, handle: wrap(d.apiIngest)},
		{Method: "GET", Pattern: "/api/v1/alerts", Action: ActAlertRead, API: true,
			Summary:  "Alerts, newest first (filters: status, severity (comma-separated), rule, actor, since (date or RFC 3339: with events since); cursor, limit)",
			Response: List[monitor.Alert]{Items: []monitor.Alert{{Criteria: []string{}}}}, handle: wrap(d.apiAlerts)},
		{Method: "GET", Pattern: "/api/v1/alerts/stats", Action: ActAlertRead, API: true,
			Summary:  "Alert counts per day and severity, triage times (median and 90th percentile) and suppressed matches (days, default 30, at most 400)",
			Response: monitor.Stats{Days: []monitor.DayCount{{}}, TopRules: []monitor.RuleCount{{}}}, handle: wrap(d.apiStats)},
		{Method: "POST", Pattern: "/api/v1/alerts/stats/evidence", Action: ActEvidenceWrite, API: true,
			Summary: "File a month's alert statistics as evidence on the monitoring controls OP-08 and OP-09 (month YYYY-MM, default last month; once per month)",
			Request: evidenceMonthInput{}, Response: monthEvidenceView{Evidence: []evidence.Item{{}}}, handle: wrap(d.apiRecordMonth)},
		{Method: "GET", Pattern: "/api/v1/alerts/{id}", Action: ActAlertRead, API: true,
			Summary: "One alert with its reason and sample events", Response: alertView{}, handle: wrap(d.apiAlert)},
		{Method: "PATCH", Pattern: "/api/v1/alerts/{id}", Action: ActAlertTriage, API: true,
			Summary: "Triage an alert: status acknowledged, resolved, or false_positive with a reason (the answer then offers a suppression)",
			Request: monitor.Triage{}, Response: alertView{}, handle: wrap(d.apiTriage)},
		{Method: "GET", Pattern: "/api/v1/suppressions", Action: ActAlertRead, API: true,
			Summary:  "Suppression rules with their match counts (active=true: only those not expired)",
			Response: List[monitor.Suppression]{Items: []monitor.Suppression{{}}}, handle: wrap(d.apiSuppressions)},
		{Method: "POST", Pattern: "/api/v1/suppressions", Action: ActDetectIngest, API: true,
			Summary: "Add a suppression: rule and/or actor (a trailing * matches a prefix) and/or network (IP or CIDR), optional until, a reason",
			Request: monitor.SuppressionInput{}, Response: monitor.Suppression{}, handle: wrap(d.apiCreateSuppression)},
		{Method: "GET", Pattern: "/api/v1/suppressions/{id}", Action: ActAlertRead, API: true,
			Summary: "One suppression", Response: monitor.Suppression{}, handle: wrap(d.apiSuppression)},
		{Method: "DELETE", Pattern: "/api/v1/suppressions/{id}", Action: ActDetectIngest, API: true,
			Summary: "Remove a suppression: matching activity alerts again", handle: wrap(d.apiDeleteSuppression)},
		{Method: "GET", Pattern: "/api/v1/detection/settings", Action: ActDetectIngest, API: true,
			Summary: "Baseline thresholds, the group window and where new alerts are delivered", Response: monitor.DefaultSettings(), handle: wrap(d.apiSettings)},
		{Method: "PATCH", Pattern: "/api/v1/detection/settings", Action: ActDetectIngest, API: true,
			Summary: "Change baseline thresholds, the group window, the delivery threshold, recipients and channels",
			Request: monitor.SettingsPatch{Baseline: &monitor.BaselinePatch{}}, Response: monitor.DefaultSettings(), handle: wrap(d.apiPatchSettings)},
		{Method: "GET", Pattern: "/api/v1/detection/baseline", Action: ActAlertRead, API: true,
			Summary:  "What the baseline has learned: actors profiled, events learned from, the most active actors",
			Response: monitor.BaselineInfo{Actors: []monitor.ActorInfo{{}}}, handle: wrap(d.apiBaseline)},
	}
	for _, p := range d.pages() {
		p.handle = wrap(p.handle)
		routes = append(routes, p)
	}
	return routes
}

// tooLargeBody turns the cap's error into the TooLarge kind, so the
// monitor reports it as such.
type tooLargeBody struct {
	r   io.Reader
	msg string
}

func (t tooLargeBody) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = &attest.Error{Kind: attest.KindTooLarge, Field: "body", Message: t.msg}
	}
	return n, err
}

// inflateCap stops a gzip body that expands past its cap.
type inflateCap struct {
	r    io.Reader
	left int64
}

func (c *inflateCap) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, &attest.Error{Kind: attest.KindTooLarge, Field: "body", Message: "the gzip body expands to more than 4 GiB"}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (d *detectAPI) apiIngest(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	src, err := ingest.ParseFormat(q.Get("format"))
	if err != nil {
		return attest.Invalid("format", "must be one of "+strings.Join(ingest.Formats, ", "))
	}
	const capMsg = "the body is over the 256 MiB cap; split the upload"
	if r.ContentLength > maxIngestBody {
		return &attest.Error{Kind: attest.KindTooLarge, Field: "body", Message: capMsg}
	}
	var body io.Reader = tooLargeBody{r: http.MaxBytesReader(w, r.Body, maxIngestBody), msg: capMsg}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			if attest.KindOf(err) == attest.KindTooLarge {
				return err
			}
			return attest.Invalid("body", "is not a readable gzip stream (Content-Encoding: gzip)")
		}
		defer zr.Close()
		body = &inflateCap{r: zr, left: maxIngestInflated}
	default:
		return attest.Invalid("Content-Encoding", "must be gzip or absent")
	}
	sum, err := d.m.Ingest(r.Context(), c.Actor, monitor.IngestInput{Format: src, Body: body, AlertLink: d.s.alertLink(r)})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sum)
}

// alertLink builds links to alert pages for messages that leave the
// server: from the configured public address, else from the address the
// client used (a deployment behind a proxy should set ATTEST_PUBLIC_URL).
func (s *Server) alertLink(r *http.Request) func(string) string {
	if s.publicURL != "" {
		base := strings.TrimSuffix(s.publicURL, "/")
		return func(id string) string { return base + "/alerts/" + id }
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	return func(id string) string { return base + "/alerts/" + id }
}

func (d *detectAPI) apiAlerts(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	f, err := monitor.ParseFilter(q.Get("status"), q.Get("severity"), q.Get("rule"), q.Get("since"), q.Get("limit"), q.Get("cursor"))
	if err != nil {
		return err
	}
	f.Actor = q.Get("actor")
	as, next, err := monitor.ListAlerts(r.Context(), d.s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(as, next))
}

// alertView is an alert with, once it is marked a false positive, the
// suppression that would keep it from alerting again (for owners and
// admins to create with POST /api/v1/suppressions).
type alertView struct {
	monitor.Alert
	SuppressionOffer *monitor.SuppressionInput `json:"suppression_offer,omitempty"`
}

func viewAlert(a monitor.Alert) alertView {
	v := alertView{Alert: a}
	if a.Status == monitor.StatusFalsePositive {
		o := monitor.SuppressionOffer(a)
		v.SuppressionOffer = &o
	}
	return v
}

func (d *detectAPI) apiAlert(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := monitor.GetAlert(r.Context(), d.s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewAlert(a))
}

func (d *detectAPI) triage(r *http.Request, c *call, id string, in monitor.Triage) (monitor.Alert, error) {
	var out monitor.Alert
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = monitor.TriageAlert(r.Context(), tx, c.Actor.OrgID, id, in)
		return err
	})
	return out, err
}

func (d *detectAPI) apiTriage(w http.ResponseWriter, r *http.Request, c *call) error {
	var in monitor.Triage
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := d.triage(r, c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewAlert(a))
}

// statsPeriod reads days (default 30) ending today.
func statsPeriod(q string, now time.Time) (time.Time, time.Time, error) {
	days := 30
	if q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > monitor.MaxStatsDays {
			return time.Time{}, time.Time{}, attest.Invalid("days", fmt.Sprintf("must be a number from 1 to %d", monitor.MaxStatsDays))
		}
		days = n
	}
	to := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return to.AddDate(0, 0, -days), to, nil
}

func (d *detectAPI) apiStats(w http.ResponseWriter, r *http.Request, c *call) error {
	from, to, err := statsPeriod(r.URL.Query().Get("days"), d.s.db.Now())
	if err != nil {
		return err
	}
	st, err := monitor.ComputeStats(r.Context(), d.s.db.Q(), c.Actor.OrgID, from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

type evidenceMonthInput struct {
	Month string `json:"month"` // YYYY-MM; default: last month
}

type monthEvidenceView struct {
	Month    string          `json:"month"`
	Evidence []evidence.Item `json:"evidence"`
}

func (d *detectAPI) apiRecordMonth(w http.ResponseWriter, r *http.Request, c *call) error {
	var in evidenceMonthInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	now := d.s.db.Now()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	if in.Month != "" {
		m, err := time.Parse("2006-01", in.Month)
		if err != nil {
			return attest.Invalid("month", "must look like 2026-03")
		}
		month = m
	}
	var items []evidence.Item
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		items, err = monitor.RecordMonth(r.Context(), tx, c.Actor.OrgID, month)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, monthEvidenceView{Month: month.Format("2006-01"), Evidence: items})
}

func (d *detectAPI) apiSuppressions(w http.ResponseWriter, r *http.Request, c *call) error {
	active := false
	if v := r.URL.Query().Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return attest.Invalid("active", "must be true or false")
		}
		active = b
	}
	ss, err := monitor.ListSuppressions(r.Context(), d.s.db.Q(), c.Actor.OrgID, active, d.s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ss, ""))
}

func (d *detectAPI) createSuppression(r *http.Request, c *call, in monitor.SuppressionInput) (monitor.Suppression, error) {
	var out monitor.Suppression
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = monitor.CreateSuppression(r.Context(), tx, c.Actor.OrgID, in)
		return err
	})
	return out, err
}

func (d *detectAPI) apiCreateSuppression(w http.ResponseWriter, r *http.Request, c *call) error {
	var in monitor.SuppressionInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	out, err := d.createSuppression(r, c, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (d *detectAPI) apiSuppression(w http.ResponseWriter, r *http.Request, c *call) error {
	sp, err := monitor.GetSuppression(r.Context(), d.s.db.Q(), c.Actor.OrgID, r.PathValue("id"), d.s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sp)
}

func (d *detectAPI) apiDeleteSuppression(w http.ResponseWriter, r *http.Request, c *call) error {
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		return monitor.DeleteSuppression(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *detectAPI) apiSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := monitor.GetSettings(r.Context(), d.s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (d *detectAPI) apiPatchSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	var in monitor.SettingsPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out monitor.Settings
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = monitor.UpdateSettings(r.Context(), tx, c.Actor.OrgID, in)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *detectAPI) apiBaseline(w http.ResponseWriter, r *http.Request, c *call) error {
	info, err := monitor.GetBaselineInfo(r.Context(), d.s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}
