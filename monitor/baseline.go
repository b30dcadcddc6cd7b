package monitor

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/store"
)

// BaselineStore keeps one org's learned baseline in the database. It is
// obtained with the org's ingest lease held (see Monitor.Ingest): Save
// writes only while that lease is still this store's, so two ingests of
// one org (on one instance or several) can never overwrite each other's
// learning.
type BaselineStore struct {
	db    *store.DB
	org   attest.OrgID
	token string
	lease time.Duration
}

var _ baseline.Store = (*BaselineStore)(nil)

// errLeaseLost means another ingest took the org over while this one was
// stalled past its lease.
var errLeaseLost = attest.Conflict("another upload of events for this organisation took over while this one stalled; what it learned was not saved, send the events again")

// acquireLease takes the org's ingest lease, waiting up to m.leaseWait
// while another holder has it.
func (m *Monitor) acquireLease(ctx context.Context, org attest.OrgID) (*BaselineStore, error) {
	bs := &BaselineStore{db: m.db, org: org, token: attest.NewID("lease"), lease: m.lease}
	deadline := time.Now().Add(m.leaseWait)
	for {
		ok, err := bs.claim(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			return bs, nil
		}
		if time.Now().After(deadline) {
			return nil, errBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (bs *BaselineStore) claim(ctx context.Context) (bool, error) {
	var ok bool
	err := bs.db.InTx(ctx, attest.System(bs.org), func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO detect_baselines (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING", bs.org); err != nil {
			return err
		}
		now := tx.Now()
		res, err := tx.ExecContext(ctx, `UPDATE detect_baselines SET lease_token = $1, lease_until = $2
			WHERE org_id = $3 AND (lease_token = '' OR lease_until IS NULL OR lease_until < $4)`, bs.token, now.Add(bs.lease), bs.org, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take the ingest lease of org %s: %w", bs.org, err)
	}
	return ok, nil
}

// renew extends the lease; it fails with errLeaseLost when another ingest
// holds it now.
func (bs *BaselineStore) renew(ctx context.Context) error {
	return bs.db.InTx(ctx, attest.System(bs.org), func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE detect_baselines SET lease_until = $1 WHERE org_id = $2 AND lease_token = $3",
			tx.Now().Add(bs.lease), bs.org, bs.token)
		if err != nil {
			return fmt.Errorf("renew the ingest lease: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(errLeaseLost, err)
		}
		return nil
	})
}

// release gives the lease up.
func (bs *BaselineStore) release(ctx context.Context) error {
	return bs.db.InTx(ctx, attest.System(bs.org), func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE detect_baselines SET lease_token = '', lease_until = NULL WHERE org_id = $1 AND lease_token = $2",
			bs.org, bs.token)
		return err
	})
}

// Load implements baseline.Store: the saved state, or nil before the first
// save.
func (bs *BaselineStore) Load(ctx context.Context) (*baseline.State, error) {
	return loadState(ctx, bs.db.Q(), bs.org)
}

func loadState(ctx context.Context, q store.Querier, org attest.OrgID) (*baseline.State, error) {
	var data []byte
	err := q.QueryRowContext(ctx, "SELECT state FROM detect_baselines WHERE org_id = $1", org).Scan(&data)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("load the baseline of org %s: %w", org, err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load the baseline of org %s: %w", org, err)
	}
	var s baseline.State
	if err := json.NewDecoder(zr).Decode(&s); err != nil {
		return nil, fmt.Errorf("load the baseline of org %s: %w", org, err)
	}
	return &s, nil
}

// Save implements baseline.Store.
func (bs *BaselineStore) Save(ctx context.Context, s *baseline.State) error {
	return bs.save(ctx, s, 0)
}

// save writes s and adds events to the count learned from, while the
// lease is still held.
func (bs *BaselineStore) save(ctx context.Context, s *baseline.State, events int64) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(s); err != nil {
		return fmt.Errorf("encode the baseline: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("encode the baseline: %w", err)
	}
	return bs.db.InTx(ctx, attest.System(bs.org), func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE detect_baselines SET state = $1, entities = $2, events = events + $3, saved_at = $4
			WHERE org_id = $5 AND lease_token = $6`, buf.Bytes(), len(s.Entities), events, tx.Now(), bs.org, bs.token)
		if err != nil {
			return fmt.Errorf("save the baseline of org %s: %w", bs.org, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(errLeaseLost, err)
		}
		return nil
	})
}

// BaselineInfo says how much an org's baseline has learned.
type BaselineInfo struct {
	Entities int        `json:"entities"` // actors with a profile
	Events   int64      `json:"events"`   // events learned from, all uploads together
	Start    *time.Time `json:"watching_since"`
	SavedAt  *time.Time `json:"saved_at"`
	// Actors lists up to 20 profiles, most active first.
	Actors []ActorInfo `json:"actors"`
}

// ActorInfo is one actor's profile in brief.
type ActorInfo struct {
	Actor   string    `json:"actor"`
	Source  string    `json:"source"`
	Events  int64     `json:"events"`
	First   time.Time `json:"first_seen"`
	Last    time.Time `json:"last_seen"`
	Actions int       `json:"actions"`
}

// GetBaselineInfo summarises what the org's baseline has learned.
func GetBaselineInfo(ctx context.Context, q store.Querier, org attest.OrgID) (BaselineInfo, error) {
	info := BaselineInfo{Actors: []ActorInfo{}}
	var saved store.Time
	err := q.QueryRowContext(ctx, "SELECT entities, events, saved_at FROM detect_baselines WHERE org_id = $1", org).Scan(&info.Entities, &info.Events, &saved)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return info, nil
		}
		return info, fmt.Errorf("load the baseline of org %s: %w", org, err)
	}
	if !saved.IsZero() {
		t := saved.Time
		info.SavedAt = &t
	}
	st, err := loadState(ctx, q, org)
	if err != nil || st == nil {
		return info, err
	}
	if !st.Start.IsZero() {
		info.Start = &st.Start
	}
	for _, e := range st.Entities {
		source, _, _ := strings.Cut(e.Key, "|")
		info.Actors = append(info.Actors, ActorInfo{Actor: e.Actor, Source: source, Events: e.Total, First: e.First, Last: e.Last, Actions: len(e.Actions)})
	}
	sortActors(info.Actors)
	if len(info.Actors) > 20 {
		info.Actors = info.Actors[:20]
	}
	return info, nil
}

func sortActors(a []ActorInfo) {
	slices.SortFunc(a, func(x, y ActorInfo) int {
		if c := cmp.Compare(y.Events, x.Events); c != 0 {
			return c
		}
		return cmp.Compare(x.Actor, y.Actor)
	})
}
