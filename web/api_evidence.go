package web

import (
	"encoding/json"

	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/store"
)

type noteInput struct {
	Title        string `json:"title"`
	Note         string `json:"note"`
	EffectiveAt  string `json:"effective_at"` // date or RFC 3339; default now
	SupersedesID string `json:"supersedes"`
}

func (s *Server) apiEvidenceList(w http.ResponseWriter, r *http.Request, c *call) error {
	items, err := s.controlEvidence(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, listOf(items, ""))
}

// controlEvidence lists a control's evidence, 404 for a control the org
// does not have.
func (s *Server) controlEvidence(r *http.Request, c *call) ([]evidence.Item, error) {
	id := r.PathValue("id")
	if _, err := control.Get(r.Context(), s.db.Q(), c.Actor.OrgID, id); err != nil {
		return nil, err
	}
	return evidence.List(r.Context(), s.db.Q(), c.Actor.OrgID, id)
}

// apiAddEvidence takes either a multipart upload (the file streams to the
// blob store without being buffered whole) or a JSON note.
func (s *Server) apiAddEvidence(w http.ResponseWriter, r *http.Request, c *call) error {
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var item evidence.Item
	var err error
	switch ctype {
	case "multipart/form-data":
		item, err = s.addEvidenceFile(w, r, c)
	case "application/json", "":
		item, err = s.addEvidenceNote(w, r, c)
	default:
		return attest.Invalid("Content-Type", "send multipart/form-data with a file, or application/json with a note")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, item)
}

func (s *Server) addEvidenceNote(w http.ResponseWriter, r *http.Request, c *call) (evidence.Item, error) {
	var in noteInput
	if err := decodeJSON(w, r, &in); err != nil {
		return evidence.Item{}, err
	}
	eff, err := evidence.ParseEffective(in.EffectiveAt)
	if err != nil {
		return evidence.Item{}, err
	}
	var out evidence.Item
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		out, err = evidence.AddNote(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"),
			evidence.Meta{Title: in.Title, Note: in.Note, EffectiveAt: eff, SupersedesID: in.SupersedesID})
		return err
	})
	return out, err
}

// addEvidenceFile reads the form fields that precede the file part, then
// streams the file. Fields after the file are ignored, so clients must send
// title and effective_at first (curl -F does, in the order given).
func (s *Server) addEvidenceFile(w http.ResponseWriter, r *http.Request, c *call) (evidence.Item, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUp+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return evidence.Item{}, attest.Invalid("body", "is not a valid multipart form")
	}
	var meta evidence.Meta
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return evidence.Item{}, attest.Invalid("file", "is required")
		}
		if err != nil {
			return evidence.Item{}, attest.Invalid("body", "is not a valid multipart form")
		}
		name := part.FormName()
		if name == "file" {
			meta.Filename = cleanFilename(part.FileName())
			meta.ContentType = part.Header.Get("Content-Type")
			item, err := evidence.AddFile(r.Context(), s.db, s.blobs, c.Actor, r.PathValue("id"), meta, part, s.maxUp)
			part.Close()
			return item, err
		}
		value, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
		part.Close()
		if err != nil {
			return evidence.Item{}, attest.Invalid(name, "could not be read")
		}
		if len(value) > 64<<10 {
			return evidence.Item{}, attest.Invalid(name, "is too long")
		}
		switch name {
		case "title":
			meta.Title = string(value)
		case "note":
			meta.Note = string(value)
		case "supersedes":
			meta.SupersedesID = string(value)
		case "effective_at":
			if meta.EffectiveAt, err = evidence.ParseEffective(string(value)); err != nil {
				return evidence.Item{}, err
			}
		case "csrf":
		default:
			return evidence.Item{}, attest.Invalid(name, "is not a known field")
		}
	}
}

// cleanFilename keeps the base name only; a client's path is not ours.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return -1
		}
		return r
	}, name)
}

func (s *Server) apiEvidence(w http.ResponseWriter, r *http.Request, c *call) error {
	it, err := evidence.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, 200, it)
}

func (s *Server) apiEvidenceContent(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.serveEvidence(w, r, c, r.PathValue("id"))
}

// serveEvidence streams an item's original bytes as a download. Content is
// never rendered inline: an uploaded HTML file must not run as our page.
func (s *Server) serveEvidence(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	it, err := evidence.Get(r.Context(), s.db.Q(), c.Actor.OrgID, id)
	if err != nil {
		return err
	}
	rc, err := evidence.Content(r.Context(), s.blobs, it)
	if err != nil {
		return err
	}
	defer rc.Close()
	name := it.Filename
	if name == "" {
		name = it.ID + ".txt"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.FormatInt(it.Size, 10))
	w.Header().Set("X-Content-SHA256", it.SHA256)
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are gone; all we can do is log and cut the stream.
		s.log.Error("stream evidence", "id", it.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func auditFilter(r *http.Request) (auditlog.Filter, error) {
	q := r.URL.Query()
	f := auditlog.Filter{Action: q.Get("action"), TargetType: q.Get("target_type"), TargetID: q.Get("target_id")}
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n < 1 {
			return f, attest.Invalid("cursor", "must be a next_cursor value from a previous page")
		}
		f.Before = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return f, attest.Invalid("limit", "must be between 1 and 500")
		}
		f.Limit = n
	}
	return f, nil
}

// rawJSON returns stored JSON text as a value that encodes verbatim.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}
