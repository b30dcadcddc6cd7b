package testutil

import (
	"context"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// Org creates an org with an owner and returns the owner as an actor.
func Org(t testing.TB, db *store.DB, name, ownerEmail string) attest.Actor {
	t.Helper()
	ctx := context.Background()
	var actor attest.Actor
	err := db.InTx(ctx, attest.Actor{Email: "system", Via: "test"}, func(tx *store.Tx) error {
		o, err := account.CreateOrg(ctx, tx, name)
		if err != nil {
			return err
		}
		m, _, err := account.AddMember(ctx, tx, o.ID, ownerEmail, attest.RoleOwner)
		if err != nil {
			return err
		}
		actor = attest.Actor{UserID: m.ID, Email: m.Email, OrgID: o.ID, Role: attest.RoleOwner, Via: "test"}
		return nil
	})
	if err != nil {
		t.Fatalf("create org %s: %v", name, err)
	}
	return actor
}

// Member adds a user with role to the actor's org and returns them as an actor.
func Member(t testing.TB, db *store.DB, org attest.OrgID, email string, role attest.Role) attest.Actor {
	t.Helper()
	ctx := context.Background()
	var actor attest.Actor
	err := db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
		m, _, err := account.AddMember(ctx, tx, org, email, role)
		actor = attest.Actor{UserID: m.ID, Email: m.Email, OrgID: org, Role: role, Via: "test"}
		return err
	})
	if err != nil {
		t.Fatalf("add %s: %v", email, err)
	}
	return actor
}
