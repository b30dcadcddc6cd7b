package people

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/store"
)

// Training is one completed course of a person.
type Training struct {
	ID          string    `json:"id"`
	PersonID    string    `json:"person_id"`
	Course      string    `json:"course"`
	CompletedOn string    `json:"completed_on"`         // YYYY-MM-DD
	ExpiresOn   string    `json:"expires_on,omitempty"` // YYYY-MM-DD; "" never expires
	Expired     bool      `json:"expired"`
	AddedBy     string    `json:"added_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// AddTraining records a completed course.
func AddTraining(ctx context.Context, tx *store.Tx, org attest.OrgID, personID string, t Training) (Training, error) {
	if _, err := Get(ctx, tx, org, personID); err != nil {
		return Training{}, err
	}
	t.Course = strings.TrimSpace(t.Course)
	if t.Course == "" || len(t.Course) > 200 {
		return Training{}, attest.Invalid("course", "must be 1 to 200 characters")
	}
	var err error
	if t.CompletedOn, err = ParseDate("completed_on", t.CompletedOn); err != nil {
		return Training{}, err
	}
	if t.CompletedOn == "" {
		return Training{}, attest.Invalid("completed_on", "is required")
	}
	if dayOf(t.CompletedOn).After(tx.Now().Add(day)) {
		return Training{}, attest.Invalid("completed_on", "cannot be in the future")
	}
	if t.ExpiresOn, err = ParseDate("expires_on", t.ExpiresOn); err != nil {
		return Training{}, err
	}
	if t.ExpiresOn != "" && t.ExpiresOn <= t.CompletedOn {
		return Training{}, attest.Invalid("expires_on", "must be after completed_on")
	}
	t.ID, t.PersonID, t.AddedBy, t.CreatedAt = attest.NewID("trn"), personID, tx.Actor().Name(), tx.Now()
	t.Expired = expired(t.ExpiresOn, tx.Now())
	if _, err := tx.ExecContext(ctx, `INSERT INTO person_training (id, org_id, person_id, course, completed_on, expires_on, added_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, org, personID, t.Course, t.CompletedOn, t.ExpiresOn, t.AddedBy, t.CreatedAt); err != nil {
		return Training{}, fmt.Errorf("record training of %s: %w", personID, err)
	}
	return t, tx.Record(ctx, "person.training.add", "person", personID, nil,
		map[string]any{"training": t.ID, "course": t.Course, "completed_on": t.CompletedOn, "expires_on": t.ExpiresOn})
}

func expired(expiresOn string, now time.Time) bool {
	return expiresOn != "" && !dayOf(expiresOn).After(now)
}

// TrainingOf lists a person's training, newest first.
func TrainingOf(ctx context.Context, q store.Querier, org attest.OrgID, personID string) ([]Training, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, person_id, course, completed_on, expires_on, added_by, created_at FROM person_training
		WHERE org_id = $1 AND person_id = $2 ORDER BY completed_on DESC, created_at DESC`, org, personID)
	if err != nil {
		return nil, fmt.Errorf("list training of %s: %w", personID, err)
	}
	defer rows.Close()
	now := time.Now()
	var out []Training
	for rows.Next() {
		var t Training
		if err := rows.Scan(&t.ID, &t.PersonID, &t.Course, &t.CompletedOn, &t.ExpiresOn, &t.AddedBy, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("list training of %s: %w", personID, err)
		}
		t.Expired = expired(t.ExpiresOn, now)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Document kinds.
const (
	DocNDA             = "nda"
	DocBackgroundCheck = "background_check"
	DocOther           = "other"
)

// DocumentKinds lists the accepted document kinds.
var DocumentKinds = []string{DocNDA, DocBackgroundCheck, DocOther}

// Document is a personal document (signed NDA, background check result)
// stored encrypted in the blob store.
type Document struct {
	ID          string    `json:"id"`
	PersonID    string    `json:"person_id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	Filename    string    `json:"filename,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	AddedBy     string    `json:"added_by"`
	CreatedAt   time.Time `json:"created_at"`
	blobKey     string
}

// DocumentMeta is what the uploader says about a document.
type DocumentMeta struct {
	Kind        string
	Title       string
	Filename    string
	ContentType string
}

func (m *DocumentMeta) validate() error {
	m.Kind = strings.TrimSpace(m.Kind)
	if m.Kind == "" {
		m.Kind = DocOther
	}
	m.Title = strings.TrimSpace(m.Title)
	if m.Title == "" {
		m.Title = m.Filename
	}
	switch {
	case !contains(DocumentKinds, m.Kind):
		return attest.Invalid("kind", "must be one of "+strings.Join(DocumentKinds, ", "))
	case m.Title == "":
		return attest.Invalid("title", "is required")
	case len(m.Title) > 200:
		return attest.Invalid("title", "must be at most 200 characters")
	case len(m.Filename) > 255:
		return attest.Invalid("filename", "must be at most 255 characters")
	}
	return nil
}

// AddDocument streams r (at most max bytes) encrypted into the blob store
// and records it for the person. Like evidence, the blob is written first
// and removed again when the transaction fails, so nothing is left half
// stored.
func AddDocument(ctx context.Context, db *store.DB, blobs blob.Store, actor attest.Actor, personID string, m DocumentMeta, r io.Reader, max int64) (Document, error) {
	if err := m.validate(); err != nil {
		return Document{}, err
	}
	if _, err := Get(ctx, db.Q(), actor.OrgID, personID); err != nil {
		return Document{}, err
	}
	var d Document
	err := blob.Stage(ctx, blobs, r, max, func(info blob.Info) error {
		d = Document{ID: attest.NewID("doc"), PersonID: personID, Kind: m.Kind, Title: m.Title, Filename: m.Filename,
			ContentType: m.ContentType, Size: info.Size, SHA256: info.SHA256, AddedBy: actor.Name(), blobKey: info.Key}
		return db.InTx(ctx, actor, func(tx *store.Tx) error {
			if _, err := Get(ctx, tx, actor.OrgID, personID); err != nil {
				return err
			}
			d.CreatedAt = tx.Now()
			if _, err := tx.ExecContext(ctx, `INSERT INTO person_documents (id, org_id, person_id, kind, title, filename, content_type, size,
				sha256, blob_key, added_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				d.ID, actor.OrgID, personID, d.Kind, d.Title, d.Filename, d.ContentType, d.Size, d.SHA256, d.blobKey, d.AddedBy, d.CreatedAt); err != nil {
				return fmt.Errorf("record document: %w", err)
			}
			return tx.Record(ctx, "person.document.add", "person", personID, nil,
				map[string]any{"document": d.ID, "kind": d.Kind, "title": d.Title, "sha256": d.SHA256, "size": d.Size})
		})
	})
	if err != nil {
		return Document{}, err
	}
	return d, nil
}

const docColumns = "id, person_id, kind, title, filename, content_type, size, sha256, blob_key, added_by, created_at"

func scanDoc(row interface{ Scan(...any) error }) (Document, error) {
	var d Document
	err := row.Scan(&d.ID, &d.PersonID, &d.Kind, &d.Title, &d.Filename, &d.ContentType, &d.Size, &d.SHA256, &d.blobKey, &d.AddedBy, &d.CreatedAt)
	return d, err
}

// Documents lists a person's documents, newest first.
func Documents(ctx context.Context, q store.Querier, org attest.OrgID, personID string) ([]Document, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+docColumns+" FROM person_documents WHERE org_id = $1 AND person_id = $2 ORDER BY created_at DESC, id", org, personID)
	if err != nil {
		return nil, fmt.Errorf("list documents of %s: %w", personID, err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("list documents of %s: %w", personID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDocument loads one document of a person of the org.
func GetDocument(ctx context.Context, q store.Querier, org attest.OrgID, personID, id string) (Document, error) {
	d, err := scanDoc(q.QueryRowContext(ctx, "SELECT "+docColumns+" FROM person_documents WHERE org_id = $1 AND person_id = $2 AND id = $3", org, personID, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Document{}, attest.NotFound("document " + id)
		}
		return Document{}, fmt.Errorf("load document %s: %w", id, err)
	}
	return d, nil
}

// OpenDocument returns the decrypted bytes of a document; the caller
// closes it.
func OpenDocument(ctx context.Context, blobs blob.Store, d Document) (io.ReadCloser, error) {
	rc, err := blobs.Open(ctx, d.blobKey)
	if err != nil {
		return nil, fmt.Errorf("open document %s: %w", d.ID, err)
	}
	return rc, nil
}
