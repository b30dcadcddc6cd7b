package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

// BenchmarkOrgReadiness10000 measures readiness end to end for an org of
// 10,000 controls: loading controls, mappings and evidence summaries from
// the database, then scoring. Compare the sub-benchmarks: "compute" is the
// scoring alone over the same data, the baseline the database adds to.
func BenchmarkOrgReadiness10000(b *testing.B) {
	for _, be := range testutil.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, be.Cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			owner := testutil.Org(b, db, "bench", "owner@bench.example")
			cat, _ := framework.Builtin()
			fw, _ := cat.Framework("soc2")
			rng := rand.New(rand.NewPCG(1, 2))
			statuses := []control.Status{control.StatusNotStarted, control.StatusInProgress, control.StatusImplemented, control.StatusImplemented}
			err = db.InTx(ctx, owner, func(tx *store.Tx) error {
				for i := 0; i < 10000; i++ {
					crit := []string{}
					for k := 0; k < 1+rng.IntN(3); k++ {
						crit = append(crit, fw.Criteria[rng.IntN(len(fw.Criteria))].ID)
					}
					c, err := control.Create(ctx, tx, owner.OrgID, control.Control{Code: fmt.Sprintf("B-%05d", i), Title: "bench",
						Status: statuses[rng.IntN(len(statuses))], Frequency: control.FrequencyQuarterly, Criteria: crit})
					if err != nil {
						return err
					}
					if i%3 == 0 {
						if _, err := evidence.AddNote(ctx, tx, owner.OrgID, c.ID, evidence.Meta{Title: "n", Note: "done"}); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			s := &Server{db: db}
			b.Run("end-to-end", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.readiness(ctx, owner.OrgID); err != nil {
						b.Fatal(err)
					}
				}
			})
			cs, _ := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
			states := make([]control.ControlState, len(cs))
			for i, c := range cs {
				states[i] = control.ControlState{Control: c, EvidenceCount: i % 3}
			}
			b.Run("compute", func(b *testing.B) {
				for b.Loop() {
					if _, err := control.ComputeReadiness(fw, []string{"security"}, states); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
