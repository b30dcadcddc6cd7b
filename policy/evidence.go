package policy

import (
	"context"
	"fmt"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/store"
)

// fileEvidence adds a note to each control the policy maps to, in the
// publishing transaction: the approved, published text (named by version
// and SHA-256) is the evidence that the control's policy exists, was
// approved and is current. Controls the org does not have are skipped.
func fileEvidence(ctx context.Context, tx *store.Tx, org attest.OrgID, p Policy) error {
	if len(p.Controls) == 0 || p.Published == nil {
		return nil
	}
	ids, err := ControlIDs(ctx, tx, org)
	if err != nil {
		return err
	}
	v := p.Published
	title := fmt.Sprintf("Policy published: %s, version %d", v.Title, v.Number)
	if len(title) > 200 {
		title = title[:197] + "..."
	}
	var note strings.Builder
	fmt.Fprintf(&note, "%s version %d was published on %s by %s.\n", v.Title, v.Number, v.PublishedAt.Format("2006-01-02 15:04 UTC"), v.PublishedBy)
	if v.ApprovedAt != nil {
		fmt.Fprintf(&note, "Approved by %s on %s", v.Approver, v.ApprovedAt.Format("2006-01-02 15:04 UTC"))
		if v.SelfApproved {
			note.WriteString(" (the author approved it: no other owner or admin was available)")
		}
		note.WriteString(".\n")
	}
	fmt.Fprintf(&note, "SHA-256 of the published text: %s\nPolicy id: %s; next review due %s.\n",
		v.ContentHash, p.ID, p.ReviewDue.Format("2006-01-02"))
	note.WriteString("Who has accepted this version: GET /api/v1/policies/" + p.ID + "/acknowledgements, or the CSV export of the version.\n")
	for _, code := range p.Controls {
		id, ok := ids[code]
		if !ok {
			continue
		}
		if _, err := evidence.AddNote(ctx, tx, org, id, evidence.Meta{Title: title, Note: note.String(), EffectiveAt: tx.Now(), Source: "policy:" + p.ID}); err != nil {
			return fmt.Errorf("file evidence of policy %s on control %s: %w", p.ID, code, err)
		}
	}
	return nil
}

// ControlIDs maps the org's control codes to control ids, so pages can
// link a policy's controls.
func ControlIDs(ctx context.Context, q store.Querier, org attest.OrgID) (map[string]string, error) {
	cs, err := control.List(ctx, q, org, control.Filter{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range cs {
		out[c.Code] = c.ID
	}
	return out, nil
}
