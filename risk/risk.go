// Package risk keeps the risk register: each risk rated for likelihood and
// impact before (inherent) and after (residual) its controls, how it is
// treated, who owns it, which controls address it and when it is next
// reviewed; the heat map of the register; and the yearly risk assessment,
// an immutable, hashed snapshot of the register recorded as evidence.
package risk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/store"
)

// Treatments of a risk.
const (
	TreatMitigate = "mitigate"
	TreatAccept   = "accept"
	TreatTransfer = "transfer"
	TreatAvoid    = "avoid"
)

// Treatments lists the treatments.
var Treatments = []string{TreatMitigate, TreatAccept, TreatTransfer, TreatAvoid}

// Statuses of a risk.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// ControlRef names a linked control.
type ControlRef = control.Ref

// Risk is one entry of the register.
type Risk struct {
	ID                 string       `json:"id"`
	OrgID              attest.OrgID `json:"-"`
	Title              string       `json:"title"`
	Description        string       `json:"description"`
	Category           string       `json:"category"`
	Likelihood         int          `json:"likelihood"`
	Impact             int          `json:"impact"`
	InherentScore      int          `json:"inherent_score"`
	ResidualLikelihood int          `json:"residual_likelihood"`
	ResidualImpact     int          `json:"residual_impact"`
	ResidualScore      int          `json:"residual_score"`
	Treatment          string       `json:"treatment"`
	OwnerID            string       `json:"owner_id,omitempty"`
	OwnerEmail         string       `json:"owner_email,omitempty"`
	ReviewDate         string       `json:"review_date,omitempty"`
	ReviewOverdue      bool         `json:"review_overdue"`
	Status             string       `json:"status"`
	Controls           []ControlRef `json:"controls"`
	CreatedAt          time.Time    `json:"created_at"`
	UpdatedAt          time.Time    `json:"updated_at"`
}

// Input is a new risk. Residual ratings of 0 default to the inherent ones.
type Input struct {
	Title              string
	Description        string
	Category           string
	Likelihood         int
	Impact             int
	ResidualLikelihood int
	ResidualImpact     int
	Treatment          string
	OwnerID            string
	ReviewDate         string
	ControlIDs         []string
}

// Patch is a partial change; nil fields stay as they are.
type Patch struct {
	Title              *string
	Description        *string
	Category           *string
	Likelihood         *int
	Impact             *int
	ResidualLikelihood *int
	ResidualImpact     *int
	Treatment          *string
	OwnerID            *string
	ReviewDate         *string
	Status             *string
	ControlIDs         *[]string
}

func rating(field string, v int) error {
	if v < 1 || v > 5 {
		return attest.Invalid(field, fmt.Sprintf("must be between 1 and 5 (got %d)", v))
	}
	return nil
}

func validate(r *Risk) error {
	r.Title = strings.TrimSpace(r.Title)
	r.Category = strings.TrimSpace(r.Category)
	r.ReviewDate = strings.TrimSpace(r.ReviewDate)
	switch {
	case r.Title == "" || len(r.Title) > 200:
		return attest.Invalid("title", "must be 1 to 200 characters")
	case len(r.Description) > 20000:
		return attest.Invalid("description", "must be at most 20000 characters")
	case len(r.Category) > 100:
		return attest.Invalid("category", "must be at most 100 characters")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"likelihood", r.Likelihood}, {"impact", r.Impact}, {"residual_likelihood", r.ResidualLikelihood}, {"residual_impact", r.ResidualImpact}} {
		if err := rating(f.name, f.v); err != nil {
			return err
		}
	}
	r.InherentScore = r.Likelihood * r.Impact
	r.ResidualScore = r.ResidualLikelihood * r.ResidualImpact
	if r.ResidualScore > r.InherentScore {
		return attest.Invalid("residual_likelihood", "the residual score cannot exceed the inherent score")
	}
	if !slices.Contains(Treatments, r.Treatment) {
		return attest.Invalid("treatment", "must be one of "+strings.Join(Treatments, ", "))
	}
	if r.Status != StatusOpen && r.Status != StatusClosed {
		return attest.Invalid("status", "must be open or closed")
	}
	if r.ReviewDate != "" {
		t, err := time.Parse("2006-01-02", r.ReviewDate)
		if err != nil {
			return attest.Invalid("review_date", fmt.Sprintf("%q is not a date like 2026-03-31", r.ReviewDate))
		}
		r.ReviewDate = t.Format("2006-01-02")
	}
	return nil
}

const columns = `r.id, r.org_id, r.title, r.description, r.category, r.likelihood, r.impact, r.residual_likelihood, r.residual_impact,
	r.treatment, COALESCE(r.owner_id, ''), COALESCE(u.email, ''), r.review_date, r.status, r.created_at, r.updated_at`

const from = " FROM risks r LEFT JOIN users u ON u.id = r.owner_id"

func scan(row interface{ Scan(...any) error }, today string) (Risk, error) {
	var r Risk
	if err := row.Scan(&r.ID, &r.OrgID, &r.Title, &r.Description, &r.Category, &r.Likelihood, &r.Impact, &r.ResidualLikelihood,
		&r.ResidualImpact, &r.Treatment, &r.OwnerID, &r.OwnerEmail, &r.ReviewDate, &r.Status, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return Risk{}, err
	}
	r.InherentScore, r.ResidualScore = r.Likelihood*r.Impact, r.ResidualLikelihood*r.ResidualImpact
	r.ReviewOverdue = r.Status == StatusOpen && r.ReviewDate != "" && r.ReviewDate < today
	r.Controls = []ControlRef{}
	return r, nil
}

var links = control.Links{Table: "risk_controls", Column: "risk_id"}

// Get loads one risk of the org; another org's risk is NotFound.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Risk, error) {
	r, err := scan(q.QueryRowContext(ctx, "SELECT "+columns+from+" WHERE r.org_id = $1 AND r.id = $2", org, id), today())
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Risk{}, attest.NotFound("risk " + id)
		}
		return Risk{}, fmt.Errorf("load risk %s: %w", id, err)
	}
	cs, err := links.Load(ctx, q, org, id)
	if err != nil {
		return Risk{}, err
	}
	if cs[id] != nil {
		r.Controls = cs[id]
	}
	return r, nil
}

func today() string { return time.Now().UTC().Format("2006-01-02") }

// Filter narrows a listing; zero values match everything.
type Filter struct {
	Status    string
	Treatment string
	OwnerID   string
	Category  string
	ControlID string
	Query     string
}

// List returns risks, highest residual score first.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Risk, error) {
	query := "SELECT " + columns + from + " WHERE r.org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		if f.Status != StatusOpen && f.Status != StatusClosed {
			return nil, attest.Invalid("status", "must be open or closed")
		}
		add("r.status = $%d", f.Status)
	}
	if f.Treatment != "" {
		if !slices.Contains(Treatments, f.Treatment) {
			return nil, attest.Invalid("treatment", "must be one of "+strings.Join(Treatments, ", "))
		}
		add("r.treatment = $%d", f.Treatment)
	}
	if f.OwnerID != "" {
		add("r.owner_id = $%d", f.OwnerID)
	}
	if f.Category != "" {
		add("r.category = $%d", f.Category)
	}
	if f.ControlID != "" {
		add("r.id IN (SELECT risk_id FROM risk_controls WHERE org_id = r.org_id AND control_id = $%d)", f.ControlID)
	}
	if f.Query != "" {
		add("LOWER(r.title) LIKE $%d", "%"+strings.ToLower(f.Query)+"%")
	}
	query += " ORDER BY r.residual_likelihood * r.residual_impact DESC, r.likelihood * r.impact DESC, r.title, r.id"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list risks: %w", err)
	}
	defer rows.Close()
	d := today()
	var out []Risk
	for rows.Next() {
		r, err := scan(rows, d)
		if err != nil {
			return nil, fmt.Errorf("list risks: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list risks: %w", err)
	}
	cs, err := links.Load(ctx, q, org, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		if c := cs[out[i].ID]; c != nil {
			out[i].Controls = c
		}
	}
	return out, nil
}

// Create adds a risk to the register.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, in Input) (Risk, error) {
	r := Risk{ID: attest.NewID("rsk"), OrgID: org, Title: in.Title, Description: in.Description, Category: in.Category,
		Likelihood: in.Likelihood, Impact: in.Impact, ResidualLikelihood: in.ResidualLikelihood, ResidualImpact: in.ResidualImpact,
		Treatment: in.Treatment, OwnerID: strings.TrimSpace(in.OwnerID), ReviewDate: in.ReviewDate, Status: StatusOpen}
	if r.ResidualLikelihood == 0 {
		r.ResidualLikelihood = r.Likelihood
	}
	if r.ResidualImpact == 0 {
		r.ResidualImpact = r.Impact
	}
	if r.Treatment == "" {
		r.Treatment = TreatMitigate
	}
	if err := validate(&r); err != nil {
		return Risk{}, err
	}
	var err error
	if r.OwnerEmail, err = account.MemberEmail(ctx, tx, org, "owner_id", r.OwnerID); err != nil {
		return Risk{}, err
	}
	if r.Controls, err = control.Resolve(ctx, tx, org, "control_ids", in.ControlIDs); err != nil {
		return Risk{}, err
	}
	r.CreatedAt, r.UpdatedAt = tx.Now(), tx.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO risks (id, org_id, title, description, category, likelihood, impact, residual_likelihood,
		residual_impact, treatment, owner_id, review_date, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, org, r.Title, r.Description, r.Category, r.Likelihood, r.Impact, r.ResidualLikelihood, r.ResidualImpact,
		r.Treatment, nullable(r.OwnerID), r.ReviewDate, r.Status, r.CreatedAt, r.UpdatedAt); err != nil {
		return Risk{}, fmt.Errorf("insert risk: %w", err)
	}
	if err := links.Replace(ctx, tx, org, r.ID, r.Controls); err != nil {
		return Risk{}, err
	}
	r.ReviewOverdue = r.ReviewDate != "" && r.ReviewDate < tx.Now().Format("2006-01-02")
	return r, tx.Record(ctx, "risk.create", "risk", r.ID, nil, auditView(r))
}

// Update applies a patch to a risk of the org.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, p Patch) (Risk, error) {
	before, err := Get(ctx, tx, org, id)
	if err != nil {
		return Risk{}, err
	}
	r := before
	setS := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setI := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setS(&r.Title, p.Title)
	setS(&r.Description, p.Description)
	setS(&r.Category, p.Category)
	setS(&r.Treatment, p.Treatment)
	setS(&r.ReviewDate, p.ReviewDate)
	setS(&r.Status, p.Status)
	setI(&r.Likelihood, p.Likelihood)
	setI(&r.Impact, p.Impact)
	setI(&r.ResidualLikelihood, p.ResidualLikelihood)
	setI(&r.ResidualImpact, p.ResidualImpact)
	if err := validate(&r); err != nil {
		return Risk{}, err
	}
	if p.OwnerID != nil {
		r.OwnerID = strings.TrimSpace(*p.OwnerID)
		if r.OwnerEmail, err = account.MemberEmail(ctx, tx, org, "owner_id", r.OwnerID); err != nil {
			return Risk{}, err
		}
	}
	if p.ControlIDs != nil {
		if r.Controls, err = control.Resolve(ctx, tx, org, "control_ids", *p.ControlIDs); err != nil {
			return Risk{}, err
		}
		if err := links.Replace(ctx, tx, org, id, r.Controls); err != nil {
			return Risk{}, err
		}
	}
	r.UpdatedAt = tx.Now()
	r.ReviewOverdue = r.Status == StatusOpen && r.ReviewDate != "" && r.ReviewDate < tx.Now().Format("2006-01-02")
	if _, err := tx.ExecContext(ctx, `UPDATE risks SET title = $1, description = $2, category = $3, likelihood = $4, impact = $5,
		residual_likelihood = $6, residual_impact = $7, treatment = $8, owner_id = $9, review_date = $10, status = $11, updated_at = $12
		WHERE org_id = $13 AND id = $14`, r.Title, r.Description, r.Category, r.Likelihood, r.Impact, r.ResidualLikelihood,
		r.ResidualImpact, r.Treatment, nullable(r.OwnerID), r.ReviewDate, r.Status, r.UpdatedAt, org, id); err != nil {
		return Risk{}, fmt.Errorf("update risk %s: %w", id, err)
	}
	return r, tx.Record(ctx, "risk.update", "risk", id, auditView(before), auditView(r))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func auditView(r Risk) map[string]any {
	codes := make([]string, len(r.Controls))
	for i, c := range r.Controls {
		codes[i] = c.Code
	}
	return map[string]any{"title": r.Title, "category": r.Category, "likelihood": r.Likelihood, "impact": r.Impact,
		"residual_likelihood": r.ResidualLikelihood, "residual_impact": r.ResidualImpact, "treatment": r.Treatment,
		"owner": r.OwnerEmail, "review_date": r.ReviewDate, "status": r.Status, "controls": codes}
}

// HeatMap counts risks per cell of the 5x5 grid: Cells[l-1][i-1] is the
// number of risks with likelihood l and impact i.
type HeatMap struct {
	Cells [5][5]int `json:"cells"`
	Total int       `json:"total"`
}

// HeatMaps counts the open risks given, by inherent and by residual rating.
func HeatMaps(risks []Risk) (inherent, residual HeatMap) {
	for _, r := range risks {
		if r.Status != StatusOpen {
			continue
		}
		if rating("", r.Likelihood) == nil && rating("", r.Impact) == nil {
			inherent.Cells[r.Likelihood-1][r.Impact-1]++
			inherent.Total++
		}
		if rating("", r.ResidualLikelihood) == nil && rating("", r.ResidualImpact) == nil {
			residual.Cells[r.ResidualLikelihood-1][r.ResidualImpact-1]++
			residual.Total++
		}
	}
	return inherent, residual
}
