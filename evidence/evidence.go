// Package evidence keeps what shows a control works: uploaded files and
// written notes, each with who added it, when it was collected, the date it
// is effective for and a SHA-256 of its content. Items are immutable: a
// newer item supersedes an older one and nothing is overwritten.
package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/store"
)

// Kinds of evidence.
const (
	KindFile = "file"
	KindNote = "note"
)

// Item is one piece of evidence.
type Item struct {
	ID           string       `json:"id"`
	OrgID        attest.OrgID `json:"-"`
	ControlID    string       `json:"control_id"`
	Kind         string       `json:"kind"`
	Title        string       `json:"title"`
	Note         string       `json:"note,omitempty"`
	Filename     string       `json:"filename,omitempty"`
	ContentType  string       `json:"content_type,omitempty"`
	Size         int64        `json:"size"`
	SHA256       string       `json:"sha256"`
	Source       string       `json:"source"`
	AddedBy      string       `json:"added_by"` // email of who added it
	CollectedAt  time.Time    `json:"collected_at"`
	EffectiveAt  time.Time    `json:"effective_at"`
	SupersedesID string       `json:"supersedes,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	blobKey      string
}

// Meta is what the person adding evidence says about it.
type Meta struct {
	Title        string
	Note         string
	Filename     string
	ContentType  string
	EffectiveAt  time.Time // zero: the moment it is collected
	SupersedesID string
	// Source says where the item came from when a feature files it rather
	// than a person: "policy:<id>", "task:<id>", "risk-assessment:<id>",
	// "incident:<id>", later "check:<id>". Empty means a person wrote it.
	Source string
}

var sourceRE = regexp.MustCompile(`^[a-z][a-z-]{1,30}:[A-Za-z0-9_.-]{1,80}$`)

// maxNote caps a written note; longer material belongs in a file.
const maxNote = 64 << 10

// ParseEffective accepts a date ("2026-03-31") or an RFC 3339 time.
func ParseEffective(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, attest.Invalid("effective_at", "must be a date like 2026-03-31 or an RFC 3339 time")
}

func (m *Meta) validate(now time.Time, kind string) error {
	m.Title = strings.TrimSpace(m.Title)
	if m.Title == "" {
		m.Title = m.Filename
	}
	switch {
	case m.Title == "":
		return attest.Invalid("title", "is required")
	case len(m.Title) > 200:
		return attest.Invalid("title", "must be at most 200 characters")
	case kind == KindNote && strings.TrimSpace(m.Note) == "":
		return attest.Invalid("note", "is required for a note")
	case len(m.Note) > maxNote:
		return attest.Invalid("note", "must be at most 64 KiB; upload longer material as a file")
	case len(m.Filename) > 255:
		return attest.Invalid("filename", "must be at most 255 characters")
	case !m.EffectiveAt.IsZero() && m.EffectiveAt.After(now.Add(24*time.Hour)):
		return attest.Invalid("effective_at", "cannot be in the future")
	case !m.EffectiveAt.IsZero() && m.EffectiveAt.Year() < 2000:
		return attest.Invalid("effective_at", "is implausibly old")
	case m.Source != "" && !sourceRE.MatchString(m.Source):
		return attest.Invalid("source", "must look like kind:id, e.g. policy:pol_123")
	}
	return nil
}

// AddNote records a written note as evidence for a control.
func AddNote(ctx context.Context, tx *store.Tx, org attest.OrgID, controlID string, m Meta) (Item, error) {
	if err := m.validate(tx.Now(), KindNote); err != nil {
		return Item{}, err
	}
	sum := sha256.Sum256([]byte(m.Note))
	source := m.Source
	if source == "" {
		source = "note"
	}
	it := Item{Kind: KindNote, Size: int64(len(m.Note)), SHA256: hex.EncodeToString(sum[:]), Source: source}
	return insert(ctx, tx, org, controlID, m, it)
}

// AddFile streams r to the blob store (encrypted, capped at max bytes) and
// records it as evidence. The blob is written before the transaction and
// removed again if the transaction fails, so a failed upload leaves nothing.
func AddFile(ctx context.Context, db *store.DB, blobs blob.Store, actor attest.Actor, controlID string, m Meta, r io.Reader, max int64) (Item, error) {
	if err := m.validate(db.Now(), KindFile); err != nil {
		return Item{}, err
	}
	// Check the control first so a bad id does not cost an upload.
	if _, err := control.Get(ctx, db.Q(), actor.OrgID, controlID); err != nil {
		return Item{}, err
	}
	var out Item
	err := blob.Stage(ctx, blobs, r, max, func(info blob.Info) error {
		return db.InTx(ctx, actor, func(tx *store.Tx) error {
			it := Item{Kind: KindFile, Size: info.Size, SHA256: info.SHA256, Source: "upload", blobKey: info.Key}
			var err error
			out, err = insert(ctx, tx, actor.OrgID, controlID, m, it)
			return err
		})
	})
	if err != nil {
		return Item{}, err
	}
	return out, nil
}

func insert(ctx context.Context, tx *store.Tx, org attest.OrgID, controlID string, m Meta, it Item) (Item, error) {
	if _, err := control.Get(ctx, tx, org, controlID); err != nil {
		return Item{}, err
	}
	if m.SupersedesID != "" {
		old, err := Get(ctx, tx, org, m.SupersedesID)
		if err != nil {
			return Item{}, attest.Invalid("supersedes", "no such evidence item")
		}
		if old.ControlID != controlID {
			return Item{}, attest.Invalid("supersedes", "must be evidence of the same control")
		}
	}
	it.ID, it.OrgID, it.ControlID = attest.NewID("evd"), org, controlID
	it.Title, it.Note, it.Filename, it.ContentType, it.SupersedesID = m.Title, m.Note, m.Filename, m.ContentType, m.SupersedesID
	it.AddedBy = tx.Actor().Name()
	it.CollectedAt, it.CreatedAt = tx.Now(), tx.Now()
	it.EffectiveAt = m.EffectiveAt
	if it.EffectiveAt.IsZero() {
		it.EffectiveAt = it.CollectedAt
	}
	var supersedes any
	if it.SupersedesID != "" {
		supersedes = it.SupersedesID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO evidence (id, org_id, control_id, kind, title, note, filename, content_type, size,
		sha256, blob_key, source, added_by, collected_at, effective_at, supersedes_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		it.ID, org, controlID, it.Kind, it.Title, it.Note, it.Filename, it.ContentType, it.Size, it.SHA256, it.blobKey,
		it.Source, it.AddedBy, it.CollectedAt, it.EffectiveAt, supersedes, it.CreatedAt); err != nil {
		return Item{}, fmt.Errorf("record evidence: %w", err)
	}
	audit := map[string]any{"control_id": controlID, "kind": it.Kind, "title": it.Title, "sha256": it.SHA256,
		"size": it.Size, "effective_at": it.EffectiveAt, "supersedes": it.SupersedesID}
	return it, tx.Record(ctx, "evidence.add", "evidence", it.ID, nil, audit)
}

const columns = `id, org_id, control_id, kind, title, note, filename, content_type, size, sha256, blob_key, source, added_by,
	collected_at, effective_at, COALESCE(supersedes_id, ''), created_at`

func scan(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	err := row.Scan(&it.ID, &it.OrgID, &it.ControlID, &it.Kind, &it.Title, &it.Note, &it.Filename, &it.ContentType, &it.Size,
		&it.SHA256, &it.blobKey, &it.Source, &it.AddedBy, &it.CollectedAt, &it.EffectiveAt, &it.SupersedesID, &it.CreatedAt)
	return it, err
}

// Get loads one item of the org.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Item, error) {
	it, err := scan(q.QueryRowContext(ctx, "SELECT "+columns+" FROM evidence WHERE org_id = $1 AND id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Item{}, attest.NotFound("evidence " + id)
		}
		return Item{}, fmt.Errorf("load evidence %s: %w", id, err)
	}
	return it, nil
}

// List returns a control's evidence, newest effective date first.
func List(ctx context.Context, q store.Querier, org attest.OrgID, controlID string) ([]Item, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+columns+" FROM evidence WHERE org_id = $1 AND control_id = $2 ORDER BY effective_at DESC, created_at DESC", org, controlID)
	if err != nil {
		return nil, fmt.Errorf("list evidence: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list evidence: %w", err)
	}
	return out, nil
}

// Content opens the original bytes of an item (a file's decrypted blob, or
// a note's text).
func Content(ctx context.Context, blobs blob.Store, it Item) (io.ReadCloser, error) {
	if it.Kind == KindNote {
		return io.NopCloser(strings.NewReader(it.Note)), nil
	}
	rc, err := blobs.Open(ctx, it.blobKey)
	if err != nil {
		return nil, fmt.Errorf("open evidence %s: %w", it.ID, err)
	}
	return rc, nil
}

// Summary is what readiness needs to know of a control's evidence.
type Summary struct {
	Count  int
	Newest time.Time // newest effective date
}

// Summaries returns, per control id, the count and newest effective date
// of its evidence, in one query.
func Summaries(ctx context.Context, q store.Querier, org attest.OrgID) (map[string]Summary, error) {
	rows, err := q.QueryContext(ctx, "SELECT control_id, COUNT(*), MAX(effective_at) FROM evidence WHERE org_id = $1 GROUP BY control_id", org)
	if err != nil {
		return nil, fmt.Errorf("summarise evidence: %w", err)
	}
	defer rows.Close()
	out := map[string]Summary{}
	for rows.Next() {
		var id string
		var s Summary
		var newest store.Time
		if err := rows.Scan(&id, &s.Count, &newest); err != nil {
			return nil, fmt.Errorf("summarise evidence: %w", err)
		}
		s.Newest = newest.Time
		out[id] = s
	}
	return out, rows.Err()
}

// Fresh reports whether evidence effective at newest still covers a
// control of frequency f at now.
func Fresh(f control.Frequency, newest, now time.Time) bool {
	return !newest.IsZero() && now.Sub(newest) <= f.FreshFor()
}
