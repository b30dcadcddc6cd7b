// Package auditlog reads and verifies the tamper-evident log that every
// write appends to (store.Tx.Record). Each org has its own hash chain.
package auditlog

import (
	"context"
	"fmt"
	"strconv"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Entry is one audit-log entry as the API shows it.
type Entry = store.AuditEntry

const columns = "org_id, seq, at, actor_id, actor, via, action, target_type, target_id, before_json, after_json, prev_hash, hash"

func scan(row interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	err := row.Scan(&e.OrgID, &e.Seq, &e.At, &e.ActorID, &e.Actor, &e.Via, &e.Action, &e.TargetType, &e.TargetID,
		&e.Before, &e.After, &e.PrevHash, &e.Hash)
	return e, err
}

// Filter narrows a listing.
type Filter struct {
	Before     int64 // only entries with seq < Before (0: no bound); the page cursor
	Limit      int
	Action     string // prefix, e.g. "control."
	TargetType string
	TargetID   string
}

// List returns an org's entries newest first, and the cursor of the next
// page ("" when there is none).
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Entry, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	query := "SELECT " + columns + " FROM audit_log WHERE org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Before > 0 {
		add("seq < $%d", f.Before)
	}
	if f.Action != "" {
		add("action LIKE $%d", f.Action+"%")
	}
	if f.TargetType != "" {
		add("target_type = $%d", f.TargetType)
	}
	if f.TargetID != "" {
		add("target_id = $%d", f.TargetID)
	}
	query += fmt.Sprintf(" ORDER BY seq DESC LIMIT %d", f.Limit+1)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = strconv.FormatInt(out[len(out)-1].Seq, 10)
	}
	return out, next, nil
}

// Problem describes the first entry that breaks a chain.
type Problem struct {
	OrgID  attest.OrgID
	Seq    int64
	Reason string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit log of org %s is broken at entry %d: %s", p.OrgID, p.Seq, p.Reason)
}

// Report summarises a verification.
type Report struct {
	Orgs    int
	Entries int64
}

// Verify walks every org's chain in order and returns a *Problem for the
// first entry that was edited, deleted, inserted or moved, or whose chain
// end does not match the recorded head (entries cut off the end).
func Verify(ctx context.Context, q store.Querier) (Report, error) {
	var rep Report
	heads := map[attest.OrgID]store.AuditEntry{}
	rows, err := q.QueryContext(ctx, "SELECT org_id, seq, hash FROM audit_heads ORDER BY org_id")
	if err != nil {
		return rep, fmt.Errorf("read chain heads: %w", err)
	}
	for rows.Next() {
		var h store.AuditEntry
		if err := rows.Scan(&h.OrgID, &h.Seq, &h.Hash); err != nil {
			rows.Close()
			return rep, fmt.Errorf("read chain heads: %w", err)
		}
		heads[h.OrgID] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read chain heads: %w", err)
	}

	rows, err = q.QueryContext(ctx, "SELECT "+columns+" FROM audit_log ORDER BY org_id, seq")
	if err != nil {
		return rep, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var cur attest.OrgID
	var prev store.AuditEntry
	started := false
	finish := func() error {
		if !started {
			return nil
		}
		h, ok := heads[cur]
		if !ok {
			return &Problem{cur, prev.Seq, "the chain has no recorded head"}
		}
		if h.Seq != prev.Seq || h.Hash != prev.Hash {
			return &Problem{cur, prev.Seq, fmt.Sprintf("the chain ends at entry %d but its head records entry %d: entries were removed or added at the end", prev.Seq, h.Seq)}
		}
		delete(heads, cur)
		return nil
	}
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return rep, fmt.Errorf("read audit log: %w", err)
		}
		if !started || e.OrgID != cur {
			if err := finish(); err != nil {
				return rep, err
			}
			cur, started = e.OrgID, true
			rep.Orgs++
			prev = store.AuditEntry{Seq: 0, Hash: store.GenesisHash}
		}
		rep.Entries++
		switch {
		case e.Seq != prev.Seq+1:
			return rep, &Problem{e.OrgID, e.Seq, fmt.Sprintf("expected entry %d next: entries were deleted or inserted", prev.Seq+1)}
		case e.PrevHash != prev.Hash:
			return rep, &Problem{e.OrgID, e.Seq, "its previous-hash does not match the entry before it: entries were reordered or replaced"}
		case e.ComputeHash() != e.Hash:
			return rep, &Problem{e.OrgID, e.Seq, "its content does not match its hash: the entry was edited"}
		}
		prev = e
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read audit log: %w", err)
	}
	if err := finish(); err != nil {
		return rep, err
	}
	for org, h := range heads {
		if h.Seq > 0 {
			return rep, &Problem{org, h.Seq, "the head records entries but none are left: the chain was deleted"}
		}
	}
	return rep, nil
}
