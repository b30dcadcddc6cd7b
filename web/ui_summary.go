package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/attest-hq/attest/incident"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/readiness"
	"github.com/attest-hq/attest/risk"
	"github.com/attest-hq/attest/task"
)

// summaryPage is the executive's monthly page: where readiness stands and
// where it is heading, whose work is late, the top risks and what is
// being done about them, and what is open. One page, printable.
type summaryPage struct {
	Overall     float64
	Categories  []chartBar
	Trend       template.HTML
	Change      string // readiness change over the window, in words
	Overdue     []task.OwnerCount
	OverdueSVG  template.HTML
	TopRisks    []risk.Risk
	Incidents   []incident.Incident
	ShowAlerts  bool
	Alerts      []monitor.Alert
	GeneratedAt time.Time
}

const summaryWindowDays = 180

func (s *Server) summary(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, org, now := r.Context(), c.Actor.OrgID, s.db.Now()
	rd, err := s.readiness(ctx, org)
	if err != nil {
		return err
	}
	d := summaryPage{Overall: rd.Overall, GeneratedAt: now}
	for _, cat := range rd.Categories {
		if cat.InScope {
			d.Categories = append(d.Categories, chartBar{Label: cat.Name, Score: cat.Score})
		}
	}
	hist, err := readiness.History(ctx, s.db.Q(), org, now.AddDate(0, 0, -summaryWindowDays))
	if err != nil {
		return err
	}
	points := make([]trendPoint, 0, len(hist)+1)
	for _, h := range hist {
		day, err := time.Parse("2006-01-02", h.Day)
		if err != nil {
			continue
		}
		points = append(points, trendPoint{Day: day, Score: h.Overall})
	}
	// Today's value is live, whether or not today's reading was taken.
	today := now.Truncate(24 * time.Hour)
	if n := len(points); n > 0 && points[n-1].Day.Equal(today) {
		points[n-1].Score = rd.Overall
	} else {
		points = append(points, trendPoint{Day: today, Score: rd.Overall})
	}
	d.Trend = trendChart(points, "Readiness over time")
	if len(points) > 1 {
		d.Change = "Since " + points[0].Day.Format("2 January") + ": " + percent(points[0].Score) + " → " + percent(rd.Overall) + "."
	}
	if Allowed(c.Actor.Role, ActTaskRead) {
		if d.Overdue, err = task.OverdueByOwner(ctx, s.db.Q(), org, now); err != nil {
			return err
		}
		d.OverdueSVG = overdueChart(d.Overdue)
	}
	if Allowed(c.Actor.Role, ActRegisterRead) {
		risks, err := risk.List(ctx, s.db.Q(), org, risk.Filter{})
		if err != nil {
			return err
		}
		d.TopRisks = risks[:min(5, len(risks))]
		if d.Incidents, err = incident.List(ctx, s.db.Q(), org, incident.Filter{Open: true}); err != nil {
			return err
		}
	}
	if d.ShowAlerts = Allowed(c.Actor.Role, ActAlertRead); d.ShowAlerts {
		if d.Alerts, _, err = monitor.ListAlerts(ctx, s.db.Q(), org, monitor.Filter{Status: "open", Limit: 10}); err != nil {
			return err
		}
	}
	return s.show(w, r, c, http.StatusOK, "summary.html", "Summary", "summary", d)
}
