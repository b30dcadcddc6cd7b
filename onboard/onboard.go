// Package onboard creates a new organisation ready to work in: the org,
// its owner, the control library and the recurring duties, in the caller's
// transaction. First-run set-up, `attest init` and a consultant adding a
// client company all go through it, so a new org is the same whichever
// door it came through.
package onboard

import (
	"context"
	"fmt"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

// Result is what NewOrg made.
type Result struct {
	Org      account.Org
	Owner    account.Member
	Password string // one-time password when the owner's account is new; "" otherwise
	Controls int    // controls seeded from the library
}

// NewOrg creates the org named name with ownerEmail as its owner (a new
// account gets a one-time password; an existing one keeps its password)
// and seeds it. Everything is recorded in the new org's audit log.
func NewOrg(ctx context.Context, tx *store.Tx, name, ownerEmail string) (Result, error) {
	var r Result
	var err error
	if r.Org, err = account.CreateOrg(ctx, tx, name); err != nil {
		return r, err
	}
	if r.Owner, r.Password, err = account.AddMember(ctx, tx, r.Org.ID, ownerEmail, attest.RoleOwner); err != nil {
		return r, err
	}
	if r.Controls, err = control.SeedLibrary(ctx, tx, r.Org.ID); err != nil {
		return r, fmt.Errorf("seed control library: %w", err)
	}
	if _, err := task.SeedDefaults(ctx, tx.InOrg(r.Org.ID), r.Org.ID, r.Owner.ID); err != nil {
		return r, fmt.Errorf("seed recurring duties: %w", err)
	}
	return r, nil
}
