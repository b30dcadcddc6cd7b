package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Person is someone who must accept the organisation's policies.
type Person struct {
	UserID string      `json:"user_id"`
	Email  string      `json:"email"`
	Name   string      `json:"name"`
	Role   attest.Role `json:"role"`
}

// Population is everyone in scope for policy acceptance: today the org's
// members except auditors, who read the program but are not part of it.
// It is the one place that decides this; the people roster may extend it.
func Population(ctx context.Context, q store.Querier, org attest.OrgID) ([]Person, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.id, u.email, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.role <> $2 ORDER BY u.email`, org, attest.RoleAuditor)
	if err != nil {
		return nil, fmt.Errorf("list people in scope for policies: %w", err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		if err := rows.Scan(&p.UserID, &p.Email, &p.Name, &p.Role); err != nil {
			return nil, fmt.Errorf("list people in scope for policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Acknowledgement is one person's acceptance of one published version.
type Acknowledgement struct {
	ID          string    `json:"id"`
	PolicyID    string    `json:"policy_id"`
	VersionID   string    `json:"version_id"`
	Version     int       `json:"version"`
	VersionHash string    `json:"version_hash"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	AcceptedAt  time.Time `json:"accepted_at"`
	Via         string    `json:"via"`
}

// VersionRef optionally names the version a person says they accept; the
// zero value means "the current one".
type VersionRef struct {
	ID     string
	Number int
}

// Accept records that the actor accepts the current published version. A
// reference to any other version is refused: a superseded one with a
// Conflict that names the current version. Accepting twice returns the
// first acceptance with created false.
func Accept(ctx context.Context, tx *store.Tx, org attest.OrgID, policyID string, ref VersionRef) (Acknowledgement, bool, error) {
	actor, now := tx.Actor(), tx.Now()
	p, err := Get(ctx, tx, org, policyID, now)
	if err != nil {
		return Acknowledgement{}, false, err
	}
	cur := p.Published
	if cur == nil {
		return Acknowledgement{}, false, attest.Conflict("this policy has not been published yet; there is nothing to accept")
	}
	if ref.ID != "" || ref.Number != 0 {
		if err := checkRef(ctx, tx, org, policyID, ref, cur); err != nil {
			return Acknowledgement{}, false, err
		}
	}
	if actor.UserID == "" {
		return Acknowledgement{}, false, attest.Forbidden("a policy is accepted by a person, not by the system")
	}
	in, err := inPopulation(ctx, tx, org, actor.UserID)
	if err != nil {
		return Acknowledgement{}, false, err
	}
	if !in {
		return Acknowledgement{}, false, attest.Forbidden("your role is not in scope for policy acceptance")
	}
	existing, err := scanAck(tx.QueryRowContext(ctx, "SELECT "+ackColumns+fromAcks+" WHERE a.org_id = $1 AND a.version_id = $2 AND a.user_id = $3",
		org, cur.ID, actor.UserID))
	if err = store.ScanOne(err); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, attest.ErrNotFound) {
		return Acknowledgement{}, false, fmt.Errorf("accept policy %s: %w", policyID, err)
	}
	a := Acknowledgement{ID: attest.NewID("pak"), PolicyID: policyID, VersionID: cur.ID, Version: cur.Number, VersionHash: cur.ContentHash,
		UserID: actor.UserID, Email: actor.Email, AcceptedAt: now, Via: actor.Via}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_acknowledgements (id, org_id, policy_id, version_id, version_hash, user_id, email, accepted_at, via)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.ID, org, a.PolicyID, a.VersionID, a.VersionHash, a.UserID, a.Email, a.AcceptedAt, a.Via); err != nil {
		return Acknowledgement{}, false, fmt.Errorf("accept policy %s: %w", policyID, err)
	}
	return a, true, tx.Record(ctx, "policy.acknowledge", "policy", policyID, nil, a)
}

// checkRef refuses a named version that is not the current published one.
func checkRef(ctx context.Context, q store.Querier, org attest.OrgID, policyID string, ref VersionRef, cur *Version) error {
	if (ref.ID == "" || ref.ID == cur.ID) && (ref.Number == 0 || ref.Number == cur.Number) {
		return nil
	}
	field, where, arg := "version", "v.number = $3", any(ref.Number)
	if ref.ID != "" {
		field, where, arg = "version_id", "v.id = $3", ref.ID
	}
	vs, err := queryVersions(ctx, q, false, " WHERE v.org_id = $1 AND v.policy_id = $2 AND "+where, org, policyID, arg)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return attest.Invalid(field, "is not a version of this policy")
	}
	if vs[0].Status == StatusPublished {
		return attest.Conflict(fmt.Sprintf("version %d has been superseded by version %d; read and accept version %d",
			vs[0].Number, cur.Number, cur.Number))
	}
	return attest.Conflict(fmt.Sprintf("version %d is not published; the version to accept is %d", vs[0].Number, cur.Number))
}

func inPopulation(ctx context.Context, q store.Querier, org attest.OrgID, userID string) (bool, error) {
	people, err := Population(ctx, q, org)
	if err != nil {
		return false, err
	}
	for _, p := range people {
		if p.UserID == userID {
			return true, nil
		}
	}
	return false, nil
}

const ackColumns = "a.id, a.policy_id, a.version_id, v.number, a.version_hash, a.user_id, a.email, a.accepted_at, a.via"

const fromAcks = " FROM policy_acknowledgements a JOIN policy_versions v ON v.id = a.version_id"

func scanAck(row interface{ Scan(...any) error }) (Acknowledgement, error) {
	var a Acknowledgement
	err := row.Scan(&a.ID, &a.PolicyID, &a.VersionID, &a.Version, &a.VersionHash, &a.UserID, &a.Email, &a.AcceptedAt, &a.Via)
	a.AcceptedAt = a.AcceptedAt.UTC()
	return a, err
}

func queryAcks(ctx context.Context, q store.Querier, where string, args ...any) ([]Acknowledgement, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ackColumns+fromAcks+where+" ORDER BY a.accepted_at, a.email", args...)
	if err != nil {
		return nil, fmt.Errorf("load acknowledgements: %w", err)
	}
	out, err := store.Collect(rows, scanAck)
	if err != nil {
		return nil, fmt.Errorf("load acknowledgements: %w", err)
	}
	return out, nil
}

// VersionAcknowledgements lists every acceptance of one version, including
// those of people who have since left: it is the evidence an auditor
// samples from.
func VersionAcknowledgements(ctx context.Context, q store.Querier, org attest.OrgID, policyID string, number int) (Version, []Acknowledgement, error) {
	v, err := VersionByNumber(ctx, q, org, policyID, number)
	if err != nil {
		return Version{}, nil, err
	}
	acks, err := queryAcks(ctx, q, " WHERE a.org_id = $1 AND a.version_id = $2", org, v.ID)
	return v, acks, err
}

// PersonStatus is where one person stands with the current version.
type PersonStatus struct {
	Person
	Accepted    bool       `json:"accepted"`
	AcceptedAt  *time.Time `json:"accepted_at"`
	Version     *int       `json:"version"` // the version accepted; nil while pending
	VersionHash string     `json:"version_hash,omitempty"`
	// LastAccepted is the newest older version the person accepted, so a
	// reminder can say "the policy changed" rather than "new policy".
	LastAccepted *int `json:"last_accepted_version,omitempty"`
}

// AckStatus lists everyone in scope with whether they accepted the current
// published version. Before the first publication everybody is pending.
func AckStatus(ctx context.Context, q store.Querier, org attest.OrgID, policyID string) ([]PersonStatus, error) {
	pub, err := publishedID(ctx, q, org, policyID)
	if err != nil {
		return nil, err
	}
	people, err := Population(ctx, q, org)
	if err != nil {
		return nil, err
	}
	acks, err := queryAcks(ctx, q, " WHERE a.org_id = $1 AND a.policy_id = $2", org, policyID)
	if err != nil {
		return nil, err
	}
	current := map[string]Acknowledgement{}
	last := map[string]int{}
	for _, a := range acks {
		if a.VersionID == pub {
			current[a.UserID] = a
		} else if a.Version > last[a.UserID] {
			last[a.UserID] = a.Version
		}
	}
	out := make([]PersonStatus, 0, len(people))
	for _, p := range people {
		s := PersonStatus{Person: p}
		if a, ok := current[p.UserID]; ok {
			at, n := a.AcceptedAt, a.Version
			s.Accepted, s.AcceptedAt, s.Version, s.VersionHash = true, &at, &n, a.VersionHash
		} else if n, ok := last[p.UserID]; ok {
			s.LastAccepted = &n
		}
		out = append(out, s)
	}
	return out, nil
}

// ToAccept is one published policy a person has not accepted in its
// current version.
type ToAccept struct {
	PolicyID    string    `json:"policy_id"`
	Title       string    `json:"title"`
	VersionID   string    `json:"version_id"`
	Version     int       `json:"version"`
	VersionHash string    `json:"version_hash"`
	PublishedAt time.Time `json:"published_at"`
}

// Pending is a person with the policies they still have to accept.
type Pending struct {
	Person
	Policies []ToAccept `json:"policies"`
}

// Progress counts acceptances of a policy's current version.
type Progress struct {
	Accepted int `json:"accepted"`
	Total    int `json:"total"`
}

// overview loads, in three queries, the published policies, the people in
// scope and who accepted which current version.
func overview(ctx context.Context, q store.Querier, org attest.OrgID) ([]ToAccept, []Person, map[string]map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.id, v.title, v.id, v.number, v.content_hash, v.published_at
		FROM policies p JOIN policy_versions v ON v.id = p.published_version_id
		WHERE p.org_id = $1 ORDER BY v.title, p.id`, org)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list published policies: %w", err)
	}
	var pols []ToAccept
	for rows.Next() {
		var t ToAccept
		var at sql.NullTime
		if err := rows.Scan(&t.PolicyID, &t.Title, &t.VersionID, &t.Version, &t.VersionHash, &at); err != nil {
			rows.Close()
			return nil, nil, nil, fmt.Errorf("list published policies: %w", err)
		}
		t.PublishedAt = at.Time.UTC()
		pols = append(pols, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("list published policies: %w", err)
	}
	people, err := Population(ctx, q, org)
	if err != nil {
		return nil, nil, nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT a.policy_id, a.user_id FROM policy_acknowledgements a
		JOIN policies p ON p.id = a.policy_id AND p.published_version_id = a.version_id WHERE a.org_id = $1`, org)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list acknowledgements: %w", err)
	}
	defer rows.Close()
	accepted := map[string]map[string]bool{} // policy -> user -> true
	for rows.Next() {
		var pid, uid string
		if err := rows.Scan(&pid, &uid); err != nil {
			return nil, nil, nil, fmt.Errorf("list acknowledgements: %w", err)
		}
		if accepted[pid] == nil {
			accepted[pid] = map[string]bool{}
		}
		accepted[pid][uid] = true
	}
	return pols, people, accepted, rows.Err()
}

// PendingByPerson lists, for each person in scope with something left to
// accept, the published policies whose current version they have not
// accepted. The reminder engine calls it to know whom to remind of what.
func PendingByPerson(ctx context.Context, q store.Querier, org attest.OrgID) ([]Pending, error) {
	pols, people, accepted, err := overview(ctx, q, org)
	if err != nil {
		return nil, err
	}
	var out []Pending
	for _, person := range people {
		p := Pending{Person: person}
		for _, pol := range pols {
			if !accepted[pol.PolicyID][person.UserID] {
				p.Policies = append(p.Policies, pol)
			}
		}
		if len(p.Policies) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// ToAcceptFor lists what one user still has to accept (empty for someone
// out of scope, such as an auditor).
func ToAcceptFor(ctx context.Context, q store.Querier, org attest.OrgID, userID string) ([]ToAccept, error) {
	all, err := PendingByPerson(ctx, q, org)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if p.UserID == userID {
			return p.Policies, nil
		}
	}
	return []ToAccept{}, nil
}

// ProgressByPolicy counts, for each published policy, how many people in
// scope accepted its current version.
func ProgressByPolicy(ctx context.Context, q store.Querier, org attest.OrgID) (map[string]Progress, error) {
	pols, people, accepted, err := overview(ctx, q, org)
	if err != nil {
		return nil, err
	}
	out := map[string]Progress{}
	for _, pol := range pols {
		pr := Progress{Total: len(people)}
		for _, person := range people {
			if accepted[pol.PolicyID][person.UserID] {
				pr.Accepted++
			}
		}
		out[pol.PolicyID] = pr
	}
	return out, nil
}
