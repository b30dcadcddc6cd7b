package web

import (
	"context"
	"net/http"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/task"
)

// readiness gathers what scoring needs (scope, controls, evidence
// freshness) and computes the org's readiness. It is the one place new
// signals (overdue tasks, failing checks) are joined in.
func (s *Server) readiness(ctx context.Context, org attest.OrgID) (control.Readiness, error) {
	o, err := account.GetOrg(ctx, s.db.Q(), org)
	if err != nil {
		return control.Readiness{}, err
	}
	cs, err := control.List(ctx, s.db.Q(), org, control.Filter{})
	if err != nil {
		return control.Readiness{}, err
	}
	ev, err := evidence.Summaries(ctx, s.db.Q(), org)
	if err != nil {
		return control.Readiness{}, err
	}
	cat, err := framework.Builtin()
	if err != nil {
		return control.Readiness{}, err
	}
	fw, _ := cat.Framework(control.FrameworkID)
	now := s.db.Now()
	overdue, err := task.OverdueByControl(ctx, s.db.Q(), org, now)
	if err != nil {
		return control.Readiness{}, err
	}
	states := make([]control.ControlState, len(cs))
	for i, c := range cs {
		sum := ev[c.ID]
		states[i] = control.ControlState{Control: c, EvidenceCount: sum.Count,
			EvidenceStale: sum.Count > 0 && !evidence.Fresh(c.Frequency, sum.Newest, now), OverdueTasks: overdue[c.ID]}
	}
	return control.ComputeReadiness(fw, o.Scope, states)
}

func (s *Server) apiReadiness(w http.ResponseWriter, r *http.Request, c *call) error {
	rd, err := s.readiness(r.Context(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, rd)
}
