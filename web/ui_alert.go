package web

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/store"
)

const alertSection = "alerts"

// pages are the alert pages: the list with its chart, one alert with the
// triage forms, and suppression management.
func (d *detectAPI) pages() []Route {
	g := d.s.gated
	return []Route{
		{Method: "GET", Pattern: "/alerts", Action: ActAlertRead, Summary: "Alerts with filters and a chart of alerts per day", handle: g(d.alertsPage)},
		{Method: "GET", Pattern: "/alerts/suppressions", Action: ActAlertRead, Summary: "Suppression rules", handle: g(d.suppressionsPage)},
		{Method: "POST", Pattern: "/alerts/suppressions", Action: ActDetectIngest, Summary: "Add a suppression rule", handle: g(d.suppressionAdd)},
		{Method: "POST", Pattern: "/alerts/suppressions/{id}/delete", Action: ActDetectIngest, Summary: "Remove a suppression rule", handle: g(d.suppressionDelete)},
		{Method: "GET", Pattern: "/alerts/{id}", Action: ActAlertRead, Summary: "One alert: reason, events, triage", handle: g(d.alertPage)},
		{Method: "POST", Pattern: "/alerts/{id}/triage", Action: ActAlertTriage, Summary: "Acknowledge, resolve or mark an alert a false positive", handle: g(d.alertTriage)},
		{Method: "POST", Pattern: "/alerts/{id}/suppress", Action: ActDetectIngest, Summary: "Stop alerts like this one: a suppression for its rule and actor", handle: g(d.alertSuppress)},
	}
}

// Severity colours for the chart, strongest first.
var severityColour = map[string]string{
	"critical": "#922b21", "high": colourLow, "medium": colourMid, "low": "#5b7fbf", "informational": colourMuted,
}

// alertChart draws alerts per day as stacked columns, one colour per
// severity, with the total above each non-empty day.
func alertChart(days []monitor.DayCount) template.HTML {
	const chartH, colW, gap, top, bottom, left = 140.0, 16.0, 4.0, 16.0, 22.0, 28.0
	peak := 1
	total := 0
	for _, d := range days {
		peak = max(peak, d.Total)
		total += d.Total
	}
	width := left + float64(len(days))*(colW+gap)
	height := top + chartH + bottom
	var b strings.Builder
	label := fmt.Sprintf("%d alerts over %d days", total, len(days))
	fmt.Fprintf(&b, `<svg class="chart alerts-per-day" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s" data-test-id="alert-chart">`,
		width, height, width, height, html.EscapeString(label))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s"/>`, left, top+chartH, width, top+chartH, colourTrack)
	fmt.Fprintf(&b, `<text x="0" y="%.0f" font-size="11" fill="%s">%d</text>`, top+8, colourMuted, peak)
	fmt.Fprintf(&b, `<text x="0" y="%.0f" font-size="11" fill="%s">0</text>`, top+chartH, colourMuted)
	sevs := monitor.Severities()
	for i, d := range days {
		x := left + float64(i)*(colW+gap)
		y := top + chartH
		for j := len(sevs) - 1; j >= 0; j-- { // critical at the bottom
			n := d.BySeverity[sevs[j]]
			if n == 0 {
				continue
			}
			h := chartH * float64(n) / float64(peak)
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.2f" width="%.0f" height="%.2f" fill="%s"><title>%s: %d %s</title></rect>`,
				x, y, colW, h, severityColour[sevs[j]], html.EscapeString(d.Day), n, html.EscapeString(sevs[j]))
		}
		if d.Total > 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.2f" font-size="10" text-anchor="middle" fill="%s">%d</text>`, x+colW/2, y-3, colourText, d.Total)
		}
		if i%7 == 0 || (i == len(days)-1 && i%7 >= 4) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle" fill="%s">%s</text>`, x+colW/2, top+chartH+14, colourMuted, html.EscapeString(d.Day[5:]))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type alertFilterForm struct{ Status, Severity, Rule, Since string }

type alertListPage struct {
	Filter     alertFilterForm
	Alerts     []monitor.Alert
	Next       string
	NextQuery  string
	Chart      template.HTML
	Stats      monitor.Stats
	Statuses   []string
	Severities []string
	Errors     formErrors
	// Triage times over the chart's 30 days, in words.
	AckMedian, AckP90, ResolveMedian, ResolveP90 string
}

func (d *detectAPI) alertsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	p := alertListPage{Filter: alertFilterForm{Status: q.Get("status"), Severity: q.Get("severity"), Rule: q.Get("rule"), Since: q.Get("since")},
		Statuses: monitor.Statuses, Severities: monitor.Severities()}
	status := http.StatusOK
	f, err := monitor.ParseFilter(p.Filter.Status, p.Filter.Severity, p.Filter.Rule, p.Filter.Since, "", q.Get("cursor"))
	if err != nil {
		var ok bool
		if p.Errors, status, ok = formError(err); !ok {
			return err
		}
		f = monitor.Filter{}
	}
	p.Alerts, p.Next, err = monitor.ListAlerts(r.Context(), d.s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	if p.Next != "" {
		nq := url.Values{}
		for k, v := range map[string]string{"status": p.Filter.Status, "severity": p.Filter.Severity, "rule": p.Filter.Rule, "since": p.Filter.Since, "cursor": p.Next} {
			if v != "" {
				nq.Set(k, v)
			}
		}
		p.NextQuery = nq.Encode()
	}
	from, to, _ := statsPeriod("30", d.s.db.Now())
	if p.Stats, err = monitor.ComputeStats(r.Context(), d.s.db.Q(), c.Actor.OrgID, from, to); err != nil {
		return err
	}
	p.Chart = alertChart(p.Stats.Days)
	p.AckMedian, p.AckP90 = durationText(p.Stats.Acknowledge.MedianSeconds), durationText(p.Stats.Acknowledge.P90Seconds)
	p.ResolveMedian, p.ResolveP90 = durationText(p.Stats.Resolve.MedianSeconds), durationText(p.Stats.Resolve.P90Seconds)
	return d.s.show(w, r, c, status, "alert_list.html", "Alerts", alertSection, p)
}

type alertDetailPage struct {
	Alert  monitor.Alert
	Offer  monitor.SuppressionInput
	Errors formErrors
	Reason string // the reason typed, kept when the form is shown again
	// Triage times in words.
	TimeToAcknowledge, TimeToResolve string
}

func (d *detectAPI) showAlert(w http.ResponseWriter, r *http.Request, c *call, status int, errs formErrors) error {
	a, err := monitor.GetAlert(r.Context(), d.s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p := alertDetailPage{Alert: a, Offer: monitor.SuppressionOffer(a), Errors: errs, Reason: r.PostFormValue("reason"),
		TimeToAcknowledge: durationText(a.TimeToAcknowledge), TimeToResolve: durationText(a.TimeToResolve)}
	return d.s.show(w, r, c, status, "alert_detail.html", a.Title, alertSection, p)
}

func (d *detectAPI) alertPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return d.showAlert(w, r, c, http.StatusOK, nil)
}

func (d *detectAPI) alertTriage(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	_, err := d.triage(r, c, id, monitor.Triage{Status: r.PostFormValue("status"), Reason: r.PostFormValue("reason")})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		return d.showAlert(w, r, c, status, errs)
	}
	return redirect(w, r, "/alerts/"+url.PathEscape(id)+"?done=saved")
}

func (d *detectAPI) alertSuppress(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	a, err := monitor.GetAlert(r.Context(), d.s.db.Q(), c.Actor.OrgID, id)
	if err != nil {
		return err
	}
	in := monitor.SuppressionOffer(a)
	in.Reason, in.Until, in.Network = r.PostFormValue("reason"), r.PostFormValue("until"), r.PostFormValue("network")
	if _, err := d.createSuppression(r, c, in); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		return d.showAlert(w, r, c, status, errs)
	}
	return redirect(w, r, "/alerts/suppressions?done=saved")
}

type suppressionsPage struct {
	Suppressions []monitor.Suppression
	Errors       formErrors
	Form         monitor.SuppressionInput
}

func (d *detectAPI) showSuppressions(w http.ResponseWriter, r *http.Request, c *call, status int, p suppressionsPage) error {
	var err error
	p.Suppressions, err = monitor.ListSuppressions(r.Context(), d.s.db.Q(), c.Actor.OrgID, false, d.s.db.Now())
	if err != nil {
		return err
	}
	return d.s.show(w, r, c, status, "alert_suppressions.html", "Suppression rules", alertSection, p)
}

func (d *detectAPI) suppressionsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return d.showSuppressions(w, r, c, http.StatusOK, suppressionsPage{})
}

func (d *detectAPI) suppressionAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	in := monitor.SuppressionInput{Rule: r.PostFormValue("rule"), Actor: r.PostFormValue("actor"), Network: r.PostFormValue("network"),
		Until: r.PostFormValue("until"), Reason: r.PostFormValue("reason")}
	if _, err := d.createSuppression(r, c, in); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		return d.showSuppressions(w, r, c, status, suppressionsPage{Errors: errs, Form: in})
	}
	return redirect(w, r, "/alerts/suppressions?done=saved")
}

func (d *detectAPI) suppressionDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	err := d.s.inTx(r.Context(), c, func(tx *store.Tx) error {
		return monitor.DeleteSuppression(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	return redirect(w, r, "/alerts/suppressions?done=saved")
}

// durationText is a triage time in words, for templates.
func durationText(p *int64) string {
	if p == nil {
		return "—"
	}
	return (time.Duration(*p) * time.Second).String()
}
