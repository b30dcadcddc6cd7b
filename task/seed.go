package task

import (
	"context"
	"errors"
	"fmt"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/store"
)

// Default is a recurring duty most SOC 2 programs run, linked to the
// library controls it evidences.
type Default struct {
	Key         string
	Title       string
	Description string
	Cadence     Cadence
	FirstIn     int      // days from seeding to the first occurrence, so the first year's work is spread out
	Controls    []string // library control codes
}

// Defaults are the duties SeedDefaults adds.
var Defaults = []Default{
	{Key: "policy_review", Title: "Yearly policy review", Cadence: Yearly, FirstIn: 30, Controls: []string{"GV-01", "HR-10"},
		Description: "Read every published policy, update what changed in the company or its systems, and have the changes approved and republished."},
	{Key: "access_review", Title: "Quarterly access review", Cadence: Quarterly, FirstIn: 30, Controls: []string{"AC-05", "AC-07"},
		Description: "For each production system and critical application, list who has access, confirm each account with its manager, and remove what is no longer needed. Keep the reviewed lists."},
	{Key: "risk_assessment", Title: "Yearly risk assessment", Cadence: Yearly, FirstIn: 60, Controls: []string{"RA-01", "RA-02"},
		Description: "Walk through the risk register with the leadership team: add new risks, re-score likelihood and impact, and decide a treatment for each."},
	{Key: "dr_test", Title: "Yearly disaster recovery test", Cadence: Yearly, FirstIn: 90, Controls: []string{"AV-07", "AV-06"},
		Description: "Restore a production service from backups in a separate environment, time it against the recovery objectives, and write down what went wrong."},
	{Key: "pentest", Title: "Yearly penetration test", Cadence: Yearly, FirstIn: 120, Controls: []string{"OP-06"},
		Description: "Have an independent tester assess the product and infrastructure; keep the report and track each finding to a fix."},
	{Key: "vendor_review", Title: "Yearly review of critical vendors", Cadence: Yearly, FirstIn: 45, Controls: []string{"VN-03", "VN-01"},
		Description: "For each critical vendor, collect its current SOC 2 or ISO 27001 report (or bridge letter), read the exceptions and record the outcome."},
	{Key: "training_renewal", Title: "Security awareness training renewal", Cadence: Yearly, FirstIn: 30, Controls: []string{"HR-02"},
		Description: "Everyone completes the yearly security awareness training; chase those who have not and keep the completion records."},
	{Key: "ir_tabletop", Title: "Incident response tabletop exercise", Cadence: Yearly, FirstIn: 150, Controls: []string{"IR-02"},
		Description: "Run a tabletop exercise of the incident response plan with the people on call; record the scenario, decisions and lessons."},
	{Key: "backup_restore", Title: "Quarterly backup restore check", Cadence: Quarterly, FirstIn: 45, Controls: []string{"AV-04"},
		Description: "Restore a sample of backups and check the data is complete and readable."},
}

// SeedDefaults adds the default duties to an org, owned by ownerID (a
// member, or "" for nobody) and linked to the org's controls with the
// library codes (codes the org lacks are left out). Defaults the org has
// already, active or not, are not added again, so it is safe to call at
// org creation and again later. It returns the rules it added.
func SeedDefaults(ctx context.Context, tx *store.Tx, org attest.OrgID, ownerID string) ([]Rule, error) {
	cs, err := control.List(ctx, tx, org, control.Filter{})
	if err != nil {
		return nil, err
	}
	codes := map[string]bool{}
	for _, c := range cs {
		codes[c.Code] = true
	}
	today := Day(tx.Now())
	var out []Rule
	for _, d := range Defaults {
		var ctl []string
		for _, code := range d.Controls {
			if codes[code] {
				ctl = append(ctl, code)
			}
		}
		start := today.AddDate(0, 0, d.FirstIn).Format(DateLayout)
		cad := string(d.Cadence)
		r, err := createRule(ctx, tx, org, d.Key, RuleInput{Title: &d.Title, Description: &d.Description, Cadence: &cad,
			StartOn: &start, OwnerID: &ownerID, Controls: &ctl})
		if errors.Is(err, errSeeded) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("seed duty %s: %w", d.Key, err)
		}
		out = append(out, r)
	}
	return out, nil
}
