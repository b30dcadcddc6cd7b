package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
)

// GenesisHash is the prev_hash of the first entry of every chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditEntry is one link of an org's audit chain.
type AuditEntry struct {
	OrgID      attest.OrgID
	Seq        int64
	At         time.Time
	ActorID    string
	Actor      string
	Via        string
	Action     string
	TargetType string
	TargetID   string
	Before     string // JSON
	After      string // JSON
	PrevHash   string
	Hash       string
}

// ComputeHash returns the entry's hash over every field but Hash itself,
// each length-prefixed so that moving bytes between fields changes it.
func (e AuditEntry) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		"attest-audit-v1", string(e.OrgID), strconv.FormatInt(e.Seq, 10),
		e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.Actor, e.Via, e.Action,
		e.TargetType, e.TargetID, e.Before, e.After, e.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Record appends an audit entry for a change made in this transaction.
// before and after are marshalled to JSON (nil becomes null). The entry
// commits or rolls back with the change itself.
func (tx *Tx) Record(ctx context.Context, action, targetType, targetID string, before, after any) error {
	org := tx.actor.OrgID
	if org == "" {
		return fmt.Errorf("record %s: actor has no org", action)
	}
	return tx.RecordIn(ctx, org, action, targetType, targetID, before, after)
}

// RecordIn is Record for a change in an org other than the actor's own,
// such as creating a new org from the CLI.
func (tx *Tx) RecordIn(ctx context.Context, org attest.OrgID, action, targetType, targetID string, before, after any) error {
	b, err := json.Marshal(before)
	if err != nil {
		return fmt.Errorf("record %s: encode before: %w", action, err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		return fmt.Errorf("record %s: encode after: %w", action, err)
	}
	seq, prev, err := tx.lockHead(ctx, org)
	if err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	e := AuditEntry{
		OrgID: org, Seq: seq + 1, At: tx.now, ActorID: tx.actor.UserID, Actor: tx.actor.Name(),
		Via: tx.actor.Via, Action: action, TargetType: targetType, TargetID: targetID,
		Before: string(b), After: string(a), PrevHash: prev,
	}
	e.Hash = e.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
		(org_id, seq, at, actor_id, actor, via, action, target_type, target_id, before_json, after_json, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.OrgID, e.Seq, e.At, e.ActorID, e.Actor, e.Via, e.Action, e.TargetType, e.TargetID,
		e.Before, e.After, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("record %s: append: %w", action, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3",
		e.Seq, e.Hash, e.OrgID); err != nil {
		return fmt.Errorf("record %s: move head: %w", action, err)
	}
	return nil
}

// lockHead returns the newest seq and hash of org's chain, creating the
// head row on first use, and holds its row lock until the transaction
// ends (SQLite's IMMEDIATE transactions already serialise writers).
func (tx *Tx) lockHead(ctx context.Context, org attest.OrgID) (int64, string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2)
		ON CONFLICT (org_id) DO NOTHING`, org, GenesisHash); err != nil {
		return 0, "", fmt.Errorf("create chain head: %w", err)
	}
	q := "SELECT seq, hash FROM audit_heads WHERE org_id = $1"
	if tx.db.dialect == Postgres {
		q += " FOR UPDATE"
	}
	var seq int64
	var hash string
	if err := tx.QueryRowContext(ctx, q, org).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("lock chain head: %w", err)
	}
	return seq, strings.TrimSpace(hash), nil
}
