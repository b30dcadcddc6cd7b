package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/store"
)

const policyColumns = `p.id, p.org_id, p.title, p.template_id, p.owner_id, COALESCE(uo.email, ''), p.controls_json, p.criteria_json,
	p.review_months, p.review_due, p.published_version_id, p.created_at, p.updated_at`

const fromPolicies = " FROM policies p LEFT JOIN users uo ON uo.id = p.owner_id"

type policyRow struct {
	Policy
	publishedID string
}

func scanPolicy(row interface{ Scan(...any) error }) (policyRow, error) {
	var p policyRow
	var owner, published sql.NullString
	var controls, criteria string
	var due sql.NullTime
	if err := row.Scan(&p.ID, &p.OrgID, &p.Title, &p.TemplateID, &owner, &p.Owner, &controls, &criteria,
		&p.ReviewMonths, &due, &published, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return policyRow{}, err
	}
	p.OwnerID, p.publishedID = owner.String, published.String
	if due.Valid {
		p.ReviewDue = due.Time.UTC()
	}
	if err := json.Unmarshal([]byte(controls), &p.Controls); err != nil {
		return policyRow{}, fmt.Errorf("policy %s: bad control list: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(criteria), &p.Criteria); err != nil {
		return policyRow{}, fmt.Errorf("policy %s: bad criteria list: %w", p.ID, err)
	}
	return p, nil
}

// versionColumns selects a version; the content column is replaced by ”
// in listings that do not need the text.
func versionColumns(withContent bool) string {
	content := "''"
	if withContent {
		content = "v.content"
	}
	return `v.id, v.policy_id, v.number, v.title, ` + content + `, v.content_hash, v.status, COALESCE(ua.email, ''),
	v.created_at, v.updated_at, v.submitted_at, v.approver, v.approved_at, v.self_approved, v.published_by, v.published_at,
	v.created_by, v.edited_by`
}

const fromVersions = " FROM policy_versions v LEFT JOIN users ua ON ua.id = v.created_by"

func scanVersion(row interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var submitted, approved, published sql.NullTime
	if err := row.Scan(&v.ID, &v.PolicyID, &v.Number, &v.Title, &v.Content, &v.ContentHash, &v.Status, &v.Author,
		&v.CreatedAt, &v.UpdatedAt, &submitted, &v.Approver, &approved, &v.SelfApproved, &v.PublishedBy, &published,
		&v.authorID, &v.editorID); err != nil {
		return Version{}, err
	}
	v.SubmittedAt, v.ApprovedAt, v.PublishedAt = timePtr(submitted), timePtr(approved), timePtr(published)
	return v, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// Filter narrows a policy listing; zero values match everything.
type Filter struct {
	// Status published matches every policy with a version in force (even
	// while a new draft is in progress); draft, in_review and approved
	// match the status of the working version.
	Status  Status
	Overdue *bool  // review overdue or not
	Query   string // matched against the title, case-insensitively
}

// List returns an org's policies ordered by title, with their published
// and working versions but without their text. now decides which reviews
// are overdue.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter, now time.Time) ([]Policy, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+policyColumns+fromPolicies+" WHERE p.org_id = $1 ORDER BY p.title, p.id", org)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	var ps []policyRow
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list policies: %w", err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	vs, err := queryVersions(ctx, q, false, ` WHERE v.org_id = $1 AND (v.status <> 'published'
		OR v.id IN (SELECT published_version_id FROM policies WHERE org_id = $1))`, org)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	byPolicy := map[string][]Version{}
	for _, v := range vs {
		byPolicy[v.PolicyID] = append(byPolicy[v.PolicyID], v)
	}
	query := strings.ToLower(strings.TrimSpace(f.Query))
	out := []Policy{}
	for _, pr := range ps {
		p := assemble(pr, byPolicy[pr.ID], now)
		switch {
		case f.Status == StatusPublished && p.Published == nil,
			f.Status != "" && f.Status != StatusPublished && (p.Working == nil || p.Working.Status != f.Status):
			continue
		case f.Overdue != nil && p.ReviewOverdue != *f.Overdue:
			continue
		case query != "" && !strings.Contains(strings.ToLower(p.Title), query):
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func queryVersions(ctx context.Context, q store.Querier, withContent bool, where string, args ...any) ([]Version, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+versionColumns(withContent)+fromVersions+where+" ORDER BY v.number", args...)
	if err != nil {
		return nil, fmt.Errorf("load policy versions: %w", err)
	}
	out, err := store.Collect(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("load policy versions: %w", err)
	}
	return out, nil
}

// assemble joins a policy row with its published and working versions.
func assemble(pr policyRow, vs []Version, now time.Time) Policy {
	p := pr.Policy
	for i := range vs {
		v := vs[i]
		switch {
		case v.ID == pr.publishedID:
			v.Current = true
			p.Published = &v
		case v.Status != StatusPublished:
			p.Working = &v
		}
	}
	switch {
	case p.Working != nil:
		p.Status = p.Working.Status
	case p.Published != nil:
		p.Status = StatusPublished
	default:
		p.Status = StatusDraft
	}
	p.ReviewOverdue = !p.ReviewDue.IsZero() && now.After(p.ReviewDue)
	return p
}

// Get loads one policy with the text of its published and working
// versions. A policy of another org is NotFound, like an unknown id.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string, now time.Time) (Policy, error) {
	pr, err := scanPolicy(q.QueryRowContext(ctx, "SELECT "+policyColumns+fromPolicies+" WHERE p.org_id = $1 AND p.id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Policy{}, attest.NotFound("policy " + id)
		}
		return Policy{}, fmt.Errorf("load policy %s: %w", id, err)
	}
	vs, err := queryVersions(ctx, q, true, ` WHERE v.org_id = $1 AND v.policy_id = $2 AND (v.status <> 'published' OR v.id = $3)`,
		org, id, pr.publishedID)
	if err != nil {
		return Policy{}, fmt.Errorf("load policy %s: %w", id, err)
	}
	return assemble(pr, vs, now), nil
}

// Versions lists every version of a policy, oldest first, without text.
func Versions(ctx context.Context, q store.Querier, org attest.OrgID, policyID string) ([]Version, error) {
	pub, err := publishedID(ctx, q, org, policyID)
	if err != nil {
		return nil, err
	}
	vs, err := queryVersions(ctx, q, false, " WHERE v.org_id = $1 AND v.policy_id = $2", org, policyID)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].Current = vs[i].ID == pub
	}
	return vs, nil
}

// VersionByNumber loads one version of a policy with its text.
func VersionByNumber(ctx context.Context, q store.Querier, org attest.OrgID, policyID string, number int) (Version, error) {
	pub, err := publishedID(ctx, q, org, policyID)
	if err != nil {
		return Version{}, err
	}
	v, err := scanVersion(q.QueryRowContext(ctx, "SELECT "+versionColumns(true)+fromVersions+
		" WHERE v.org_id = $1 AND v.policy_id = $2 AND v.number = $3", org, policyID, number))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Version{}, attest.NotFound(fmt.Sprintf("version %d of policy %s", number, policyID))
		}
		return Version{}, fmt.Errorf("load version %d of policy %s: %w", number, policyID, err)
	}
	v.Current = v.ID == pub
	return v, nil
}

// publishedID checks that the policy exists in org and returns the id of
// its current published version ("" when none).
func publishedID(ctx context.Context, q store.Querier, org attest.OrgID, policyID string) (string, error) {
	var pub sql.NullString
	err := store.ScanOne(q.QueryRowContext(ctx, "SELECT published_version_id FROM policies WHERE org_id = $1 AND id = $2", org, policyID).Scan(&pub))
	if errors.Is(err, attest.ErrNotFound) {
		return "", attest.NotFound("policy " + policyID)
	}
	if err != nil {
		return "", fmt.Errorf("load policy %s: %w", policyID, err)
	}
	return pub.String, nil
}

// New is what creating a policy takes: a template id, or a title (and
// optional content) for a blank policy.
type New struct {
	TemplateID   string
	Title        string // overrides the template's title
	Content      string // only for a blank policy
	OwnerID      string // default: the creating user
	ReviewMonths int    // default 12
	Variables    map[string]string
}

// Create adds a policy with a first draft version. From a template, the
// org's variables are filled in; the result is ordinary Markdown from then
// on.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, in New) (Policy, error) {
	if in.ReviewMonths == 0 {
		in.ReviewMonths = DefaultReview
	}
	if err := validReviewMonths(in.ReviewMonths); err != nil {
		return Policy{}, err
	}
	if in.OwnerID == "" {
		in.OwnerID = tx.Actor().UserID
	}
	var owner account.Member
	if in.OwnerID != "" {
		var err error
		if owner, err = memberOf(ctx, tx, org, in.OwnerID); err != nil {
			return Policy{}, err
		}
	}
	var controls, criteria []string
	title, content := in.Title, in.Content
	if in.TemplateID != "" {
		t, err := TemplateByID(in.TemplateID)
		if err != nil {
			return Policy{}, err
		}
		if in.Content != "" {
			return Policy{}, attest.Invalid("content", "is filled from the template; leave it out, or create a blank policy")
		}
		o, err := account.GetOrg(ctx, tx, org)
		if err != nil {
			return Policy{}, err
		}
		vars, err := variables(t, in.Variables, o.Name, owner, in.ReviewMonths, tx.Now())
		if err != nil {
			return Policy{}, err
		}
		if strings.TrimSpace(title) == "" {
			title = t.Title
		}
		content = t.Fill(vars)
		controls, criteria = slices.Clone(t.Controls), slices.Clone(t.Criteria)
	} else if len(in.Variables) > 0 {
		return Policy{}, attest.Invalid("variables", "apply only to a policy created from a template")
	}
	title, err := validTitle(title)
	if err != nil {
		return Policy{}, err
	}
	if content, err = validContent(content); err != nil {
		return Policy{}, err
	}
	if strings.TrimSpace(content) == "" {
		content = "# " + title + "\n"
	}
	if controls == nil {
		controls, criteria = []string{}, []string{}
	}
	cj, _ := json.Marshal(controls)
	crj, _ := json.Marshal(criteria)
	now, actor := tx.Now(), tx.Actor()
	id := attest.NewID("pol")
	var ownerID any
	if owner.ID != "" {
		ownerID = owner.ID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policies (id, org_id, title, template_id, owner_id, controls_json, criteria_json,
		review_months, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		id, org, title, in.TemplateID, ownerID, string(cj), string(crj), in.ReviewMonths, actor.UserID, now); err != nil {
		return Policy{}, fmt.Errorf("create policy: %w", err)
	}
	v := Version{ID: attest.NewID("pov"), PolicyID: id, Number: 1, Title: title, Content: content, Status: StatusDraft}
	if err := insertVersion(ctx, tx, org, v); err != nil {
		return Policy{}, err
	}
	p, err := Get(ctx, tx, org, id, now)
	if err != nil {
		return Policy{}, err
	}
	return p, tx.Record(ctx, "policy.create", "policy", id, nil, auditView(p))
}

func insertVersion(ctx context.Context, tx *store.Tx, org attest.OrgID, v Version) error {
	now, actor := tx.Now(), tx.Actor()
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (id, org_id, policy_id, number, title, content, content_hash,
		status, created_by, edited_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10)`,
		v.ID, org, v.PolicyID, v.Number, v.Title, v.Content, Hash(v.Title, v.Content), v.Status, actor.UserID, now); err != nil {
		return fmt.Errorf("create version %d of policy %s: %w", v.Number, v.PolicyID, err)
	}
	return nil
}

// variables builds the values for a template: the standard ones from the
// org and the owner, then the caller's, which may override defaults.
func variables(t Template, given map[string]string, company string, owner account.Member, months int, now time.Time) (map[string]string, error) {
	known := t.Variables()
	vars := map[string]string{
		"company":          company,
		"owner":            owner.Email,
		"owner_email":      owner.Email,
		"security_contact": owner.Email,
		"review_cadence":   cadence(months),
		"effective_date":   now.Format("2 January 2006"),
	}
	if owner.Name != "" {
		vars["owner"] = owner.Name
	}
	if owner.Email == "" {
		vars["owner"], vars["owner_email"], vars["security_contact"] = "the policy owner", "the policy owner", "the security team"
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := given[k]
		if !slices.Contains(known, k) {
			return nil, attest.Invalid("variables."+k, "is not a variable of this template; it has "+strings.Join(known, ", "))
		}
		if len(v) > 200 {
			return nil, attest.Invalid("variables."+k, "must be at most 200 characters")
		}
		if strings.TrimSpace(v) != "" {
			vars[k] = v
		}
	}
	return vars, nil
}

func memberOf(ctx context.Context, q store.Querier, org attest.OrgID, userID string) (account.Member, error) {
	m, err := account.MemberByID(ctx, q, org, userID)
	if attest.KindOf(err) == attest.KindNotFound {
		return account.Member{}, attest.Invalid("owner", "must be a member of this organisation")
	}
	return m, err
}

// Patch changes a policy; nil fields stay as they are. Title and Content
// change the text (see the package comment for what that does to the
// version); the others are attributes of the policy itself.
type Patch struct {
	Title        *string
	Content      *string
	OwnerID      *string // "" clears
	ReviewDue    *time.Time
	ReviewMonths *int
	Controls     *[]string // control codes of the org
}

// Update applies a patch.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, in Patch) (Policy, error) {
	before, err := Get(ctx, tx, org, id, tx.Now())
	if err != nil {
		return Policy{}, err
	}
	now, actor := tx.Now(), tx.Actor()
	cur := before.Current()
	title, content := cur.Title, cur.Content
	if in.Title != nil {
		if title, err = validTitle(*in.Title); err != nil {
			return Policy{}, err
		}
	}
	if in.Content != nil {
		if content, err = validContent(*in.Content); err != nil {
			return Policy{}, err
		}
	}
	sets := []string{"updated_at = $3"}
	args := []any{org, id, now}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if in.OwnerID != nil {
		if *in.OwnerID == "" {
			set("owner_id", nil)
		} else {
			m, err := memberOf(ctx, tx, org, *in.OwnerID)
			if err != nil {
				return Policy{}, err
			}
			set("owner_id", m.ID)
		}
	}
	if in.ReviewMonths != nil {
		if err := validReviewMonths(*in.ReviewMonths); err != nil {
			return Policy{}, err
		}
		set("review_months", *in.ReviewMonths)
	}
	if in.ReviewDue != nil {
		d := in.ReviewDue.UTC()
		if d.Year() < 2000 || d.After(now.AddDate(5, 0, 0)) {
			return Policy{}, attest.Invalid("review_due", "must be a date within the next five years")
		}
		set("review_due", d)
	}
	if in.Controls != nil {
		codes, criteria, err := controlsOf(ctx, tx, org, *in.Controls)
		if err != nil {
			return Policy{}, err
		}
		cj, _ := json.Marshal(codes)
		crj, _ := json.Marshal(criteria)
		set("controls_json", string(cj))
		set("criteria_json", string(crj))
	}
	if title != cur.Title {
		set("title", title)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE policies SET "+strings.Join(sets, ", ")+" WHERE org_id = $1 AND id = $2", args...); err != nil {
		return Policy{}, fmt.Errorf("update policy %s: %w", id, err)
	}
	if title != cur.Title || content != cur.Content {
		if w := before.Working; w != nil {
			// An approval covers one exact text: a change sends the version
			// back to draft and clears its review.
			if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET title = $1, content = $2, content_hash = $3, status = 'draft',
				edited_by = $4, updated_at = $5, submitted_by = '', submitted_at = NULL, approved_by = '', approver = '',
				approved_at = NULL, self_approved = FALSE WHERE org_id = $6 AND id = $7 AND status <> 'published'`,
				title, content, Hash(title, content), actor.UserID, now, org, w.ID); err != nil {
				return Policy{}, fmt.Errorf("update draft of policy %s: %w", id, err)
			}
		} else {
			next, err := nextNumber(ctx, tx, org, id)
			if err != nil {
				return Policy{}, err
			}
			v := Version{ID: attest.NewID("pov"), PolicyID: id, Number: next, Title: title, Content: content, Status: StatusDraft}
			if err := insertVersion(ctx, tx, org, v); err != nil {
				return Policy{}, err
			}
		}
	}
	after, err := Get(ctx, tx, org, id, now)
	if err != nil {
		return Policy{}, err
	}
	return after, tx.Record(ctx, "policy.update", "policy", id, auditView(before), auditView(after))
}

func nextNumber(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (int, error) {
	var n sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(number) FROM policy_versions WHERE org_id = $1 AND policy_id = $2", org, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("number the next version of policy %s: %w", id, err)
	}
	return int(n.Int64) + 1, nil
}

// controlsOf checks control codes against the org's controls and returns
// them sorted with the union of their criteria.
func controlsOf(ctx context.Context, q store.Querier, org attest.OrgID, codes []string) ([]string, []string, error) {
	cs, err := control.List(ctx, q, org, control.Filter{})
	if err != nil {
		return nil, nil, err
	}
	byCode := map[string]control.Control{}
	for _, c := range cs {
		byCode[c.Code] = c
	}
	outCodes, crit := []string{}, []string{}
	for _, code := range codes {
		c, ok := byCode[strings.TrimSpace(code)]
		if !ok {
			return nil, nil, attest.Invalid("controls", fmt.Sprintf("no control %q in this organisation", code))
		}
		if !slices.Contains(outCodes, c.Code) {
			outCodes = append(outCodes, c.Code)
		}
		for _, cr := range c.Criteria {
			if !slices.Contains(crit, cr) {
				crit = append(crit, cr)
			}
		}
	}
	sort.Strings(outCodes)
	sort.Strings(crit)
	return outCodes, crit, nil
}

// Submit sends the working draft to review.
func Submit(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (Policy, error) {
	before, err := Get(ctx, tx, org, id, tx.Now())
	if err != nil {
		return Policy{}, err
	}
	w := before.Working
	switch {
	case w == nil:
		return Policy{}, attest.Conflict("there is no draft to submit: the current text is already published; edit the policy to start a new version")
	case w.Status != StatusDraft:
		return Policy{}, attest.Conflict(fmt.Sprintf("version %d is already %s", w.Number, strings.ReplaceAll(string(w.Status), "_", " ")))
	case isBlank(w.Title, w.Content):
		return Policy{}, attest.Invalid("content", "is empty; write the policy before submitting it for review")
	}
	now, actor := tx.Now(), tx.Actor()
	if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET status = 'in_review', submitted_by = $1, submitted_at = $2, updated_at = $2
		WHERE org_id = $3 AND id = $4 AND status = 'draft'`, actor.UserID, now, org, w.ID); err != nil {
		return Policy{}, fmt.Errorf("submit policy %s: %w", id, err)
	}
	return recordTransition(ctx, tx, org, id, "policy.submit", before)
}

// Approve records the actor's approval of the version in review. See the
// package comment for who may approve.
func Approve(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (Policy, error) {
	before, err := Get(ctx, tx, org, id, tx.Now())
	if err != nil {
		return Policy{}, err
	}
	w := before.Working
	switch {
	case w == nil:
		return Policy{}, attest.Conflict("there is no version to approve: the current text is already published")
	case w.Status == StatusApproved:
		return Policy{}, attest.Conflict(fmt.Sprintf("version %d is already approved by %s", w.Number, w.Approver))
	case w.Status != StatusInReview:
		return Policy{}, attest.Conflict(fmt.Sprintf("version %d is a draft: submit it for review before approving it", w.Number))
	}
	actor, now := tx.Actor(), tx.Now()
	if actor.UserID == "" {
		return Policy{}, attest.Forbidden("a policy is approved by a person, not by the system")
	}
	self := actor.UserID == w.authorID || actor.UserID == w.editorID
	if self {
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role IN ('owner', 'admin')
			AND user_id <> $2 AND user_id <> $3`, org, w.authorID, w.editorID).Scan(&others); err != nil {
			return Policy{}, fmt.Errorf("approve policy %s: count approvers: %w", id, err)
		}
		if others > 0 {
			return Policy{}, attest.Conflict("you wrote or last edited this version; another owner or admin must approve it")
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET status = 'approved', approved_by = $1, approver = $2, approved_at = $3,
		self_approved = $4, updated_at = $3 WHERE org_id = $5 AND id = $6 AND status = 'in_review'`,
		actor.UserID, actor.Name(), now, self, org, w.ID); err != nil {
		return Policy{}, fmt.Errorf("approve policy %s: %w", id, err)
	}
	return recordTransition(ctx, tx, org, id, "policy.approve", before)
}

// Publish makes the approved version the one everybody must accept,
// restarts the review clock and files evidence on the mapped controls. A
// version that is not approved is refused with a Conflict.
func Publish(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (Policy, error) {
	now, actor := tx.Now(), tx.Actor()
	before, err := Get(ctx, tx, org, id, now)
	if err != nil {
		return Policy{}, err
	}
	w := before.Working
	switch {
	case w == nil:
		return Policy{}, attest.Conflict(fmt.Sprintf("nothing to publish: version %d is already the published version", before.Published.Number))
	case w.Status != StatusApproved:
		return Policy{}, attest.Conflict(fmt.Sprintf("version %d is %s and has not been approved: submit it for review and have an owner or admin approve it before publishing",
			w.Number, strings.ReplaceAll(string(w.Status), "_", " ")))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET status = 'published', published_by = $1, published_at = $2, updated_at = $2
		WHERE org_id = $3 AND id = $4 AND status = 'approved'`, actor.Name(), now, org, w.ID); err != nil {
		return Policy{}, fmt.Errorf("publish policy %s: %w", id, err)
	}
	due := now.AddDate(0, before.ReviewMonths, 0)
	if _, err := tx.ExecContext(ctx, `UPDATE policies SET published_version_id = $1, title = $2, review_due = $3, updated_at = $4
		WHERE org_id = $5 AND id = $6`, w.ID, w.Title, due, now, org, id); err != nil {
		return Policy{}, fmt.Errorf("publish policy %s: %w", id, err)
	}
	after, err := recordTransition(ctx, tx, org, id, "policy.publish", before)
	if err != nil {
		return Policy{}, err
	}
	if err := fileEvidence(ctx, tx, org, after); err != nil {
		return Policy{}, err
	}
	return after, nil
}

func recordTransition(ctx context.Context, tx *store.Tx, org attest.OrgID, id, action string, before Policy) (Policy, error) {
	after, err := Get(ctx, tx, org, id, tx.Now())
	if err != nil {
		return Policy{}, err
	}
	return after, tx.Record(ctx, action, "policy", id, auditView(before), auditView(after))
}

// auditView is what the audit log keeps of a policy: its state and the
// hashes of its texts, not the texts themselves (they are kept in full in
// their versions).
func auditView(p Policy) map[string]any {
	view := func(v *Version) any {
		if v == nil {
			return nil
		}
		return map[string]any{"id": v.ID, "number": v.Number, "title": v.Title, "status": v.Status,
			"content_hash": v.ContentHash, "approver": v.Approver, "self_approved": v.SelfApproved}
	}
	m := map[string]any{"title": p.Title, "status": p.Status, "owner_id": p.OwnerID, "review_months": p.ReviewMonths,
		"controls": p.Controls, "published": view(p.Published), "working": view(p.Working)}
	if !p.ReviewDue.IsZero() {
		m["review_due"] = p.ReviewDue.Format("2006-01-02")
	}
	return m
}

// isBlank reports whether content holds nothing but its title heading.
func isBlank(title, content string) bool {
	content = strings.TrimSpace(content)
	content = strings.TrimPrefix(content, "# "+title)
	return strings.TrimSpace(content) == ""
}
