package web

import (
	"context"
	"net/http"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/readiness"
)

// readiness is the org's readiness now (see package readiness).
func (s *Server) readiness(ctx context.Context, org attest.OrgID) (control.Readiness, error) {
	return readiness.ForOrg(ctx, s.db.Q(), org, s.db.Now())
}

func (s *Server) apiReadiness(w http.ResponseWriter, r *http.Request, c *call) error {
	rd, err := s.readiness(r.Context(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, rd)
}

func (s *Server) apiReadinessHistory(w http.ResponseWriter, r *http.Request, c *call) error {
	days := 90
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := parseDays(v)
		if err != nil {
			return err
		}
		days = n
	}
	hist, err := readiness.History(r.Context(), s.db.Q(), c.Actor.OrgID, s.db.Now().AddDate(0, 0, -days))
	if err != nil {
		return err
	}
	return writeJSON(w, 200, listOf(hist, ""))
}
