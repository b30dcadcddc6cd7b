// Package policy keeps an organisation's written policies: the built-in
// templates, numbered versions that move from draft through review and
// approval to publication, the immutable record of every published text
// (with its SHA-256), line diffs between versions, review dates, and the
// acknowledgements that show each person accepted the current text.
//
// Lifecycle rules, in one place:
//   - A policy has at most one working version (draft, in_review or
//     approved). Editing the text of a published policy starts a new draft;
//     editing the text of a version in review or approved sends it back to
//     draft, because an approval covers one exact text.
//   - Only an in_review version can be approved, only an approved one
//     published (Conflict otherwise).
//   - The approver may not be the version's author or last editor, unless
//     no other owner or admin exists in the organisation; such a
//     self-approval is allowed and marked (self_approved) so an auditor sees it.
//   - Published versions are never changed or deleted.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	attest "github.com/attest-hq/attest"
)

// Status is where a version stands.
type Status string

// The statuses of a version, in order.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusApproved  Status = "approved"
	StatusPublished Status = "published"
)

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusDraft, StatusInReview, StatusApproved, StatusPublished:
		return st, nil
	}
	return "", attest.Invalid("status", "must be one of draft, in_review, approved, published")
}

// Limits on what a person may write.
const (
	MaxContent      = 256 << 10 // bytes of Markdown per version
	maxTitle        = 200
	DefaultReview   = 12 // months between reviews
	maxReviewMonths = 36
)

// Policy is one policy of an organisation with its current state.
type Policy struct {
	ID         string       `json:"id"`
	OrgID      attest.OrgID `json:"-"`
	Title      string       `json:"title"`
	TemplateID string       `json:"template_id"`
	OwnerID    string       `json:"owner_id"`
	Owner      string       `json:"owner"` // owner's email, "" when unassigned
	Controls   []string     `json:"controls"`
	Criteria   []string     `json:"criteria"`
	// Status is the working version's status, or published when there is
	// none; draft for a policy never published.
	Status        Status    `json:"status"`
	ReviewMonths  int       `json:"review_months"`
	ReviewDue     time.Time `json:"review_due"` // zero until first published
	ReviewOverdue bool      `json:"review_overdue"`
	// Published is the current published version (nil before the first
	// publication); Working is the version being edited, reviewed or
	// approved (nil when there is none). Neither carries content in lists.
	Published *Version  `json:"published"`
	Working   *Version  `json:"working"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Current is the version people read: the working one for editors when it
// exists, else the published one.
func (p Policy) Current() *Version {
	if p.Working != nil {
		return p.Working
	}
	return p.Published
}

// Version is one numbered text of a policy.
type Version struct {
	ID           string     `json:"id"`
	PolicyID     string     `json:"policy_id"`
	Number       int        `json:"number"`
	Title        string     `json:"title"`
	Content      string     `json:"content,omitempty"`
	ContentHash  string     `json:"content_hash"` // SHA-256 of title and content
	Status       Status     `json:"status"`
	Author       string     `json:"author"` // email
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	SubmittedAt  *time.Time `json:"submitted_at"`
	Approver     string     `json:"approver"` // email
	ApprovedAt   *time.Time `json:"approved_at"`
	SelfApproved bool       `json:"self_approved"`
	PublishedBy  string     `json:"published_by"` // email
	PublishedAt  *time.Time `json:"published_at"`
	// Current is true for the published version people must accept.
	Current bool `json:"current"`

	authorID, editorID string
}

// Hash is the SHA-256 over a version's title and content, each
// length-prefixed, in hex.
func Hash(title, content string) string {
	h := sha256.New()
	fmt.Fprintf(h, "attest-policy-v1\n%d:%s\n%d:%s\n", len(title), title, len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

func validTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return "", attest.Invalid("title", "is required")
	case utf8.RuneCountInString(title) > maxTitle:
		return "", attest.Invalid("title", "must be at most 200 characters")
	case strings.ContainsAny(title, "\n\r"):
		return "", attest.Invalid("title", "must be one line")
	}
	return title, nil
}

func validContent(content string) (string, error) {
	if len(content) > MaxContent {
		return "", &attest.Error{Kind: attest.KindTooLarge, Field: "content",
			Message: fmt.Sprintf("is %d KiB; a policy is limited to %d KiB", len(content)>>10, MaxContent>>10)}
	}
	if !utf8.ValidString(content) {
		return "", attest.Invalid("content", "must be UTF-8 text")
	}
	return strings.ReplaceAll(content, "\r\n", "\n"), nil
}

func validReviewMonths(m int) error {
	if m < 1 || m > maxReviewMonths {
		return attest.Invalid("review_months", "must be between 1 and 36")
	}
	return nil
}

// cadence says a review interval in words, for {{review_cadence}}.
func cadence(months int) string {
	switch {
	case months == 12:
		return "at least once a year"
	case months == 1:
		return "every month"
	case months%12 == 0:
		return fmt.Sprintf("at least every %d years", months/12)
	}
	return fmt.Sprintf("at least every %d months", months)
}

// Label is the status in words.
func (s Status) Label() string {
	switch s {
	case StatusDraft:
		return "Draft"
	case StatusInReview:
		return "In review"
	case StatusApproved:
		return "Approved"
	case StatusPublished:
		return "Published"
	}
	return string(s)
}
