package control_test

import (
	"context"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func TestResolve(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := seeded(t, db, "alpha")
		b := seeded(t, db, "beta")
		all, _ := control.List(ctx, db.Q(), a.OrgID, control.Filter{})
		other, _ := control.List(ctx, db.Q(), b.OrgID, control.Filter{})
		cases := []struct {
			name  string
			in    []string
			codes []string
			bad   bool
		}{
			{"none", nil, []string{}, false},
			{"by id and code, deduplicated, in code order", []string{all[2].ID, all[0].Code, all[2].Code}, []string{all[0].Code, all[2].Code}, false},
			{"unknown", []string{"ZZ-99"}, nil, true},
			{"another org's id", []string{other[0].ID}, nil, true},
		}
		for _, c := range cases {
			refs, err := control.Resolve(ctx, db.Q(), a.OrgID, "controls", c.in)
			if c.bad {
				if e, ok := err.(*attest.Error); !ok || e.Field != "controls" {
					t.Errorf("%s: %v, want invalid controls", c.name, err)
				}
				continue
			}
			if err != nil || len(refs) != len(c.codes) {
				t.Fatalf("%s: %v, %v", c.name, refs, err)
			}
			for i := range refs {
				if refs[i].Code != c.codes[i] {
					t.Errorf("%s: got %v, want %v", c.name, refs, c.codes)
				}
			}
		}
	})
}
