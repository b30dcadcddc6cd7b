package web

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/privacy"
	"github.com/attest-hq/attest/privacy/pii"
	"github.com/attest-hq/attest/store"
)

// maxInventoryReport caps an uploaded inventory report.
const maxInventoryReport = 16 << 20

// privacyRoutes serves personal data inventories: `attest scan pii
// --upload` posts its report here, which both records the inventory (for the
// privacy page) and files the report as evidence on the chosen control.
func (s *Server) privacyRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/privacy/inventories", Action: ActPrivacyRecord, API: true,
			Summary:  "Record a personal data inventory (multipart: field control = a control id or code, then file = the JSON report of attest scan pii) and file the report as evidence on that control",
			Response: privacy.Inventory{Report: exampleReport()}, handle: s.apiRecordInventory},
		{Method: "GET", Pattern: "/api/v1/privacy/inventories", Action: ActPrivacyRead, API: true,
			Summary: "Personal data inventories, newest first (without their reports)", Response: List[privacy.Inventory]{Items: []privacy.Inventory{{}}}, handle: s.apiInventories},
		{Method: "GET", Pattern: "/api/v1/privacy/inventories/latest", Action: ActPrivacyRead, API: true,
			Summary: "The latest inventory with its report", Response: privacy.Inventory{Report: exampleReport()}, handle: s.apiLatestInventory},
		{Method: "GET", Pattern: "/api/v1/privacy/inventories/{id}", Action: ActPrivacyRead, API: true,
			Summary: "One inventory with its report", Response: privacy.Inventory{Report: exampleReport()}, handle: s.apiInventory},
		{Method: "GET", Pattern: "/privacy", Action: ActPrivacyRead, Summary: "Where personal data lives: the latest inventory", handle: s.gated(s.privacyPage)},
	}
}

func exampleReport() pii.Report {
	return pii.Report{Format: pii.ReportFormat, Targets: []string{""}, ByType: map[pii.Type]int64{pii.Email: 0},
		Locations: []pii.Location{{Types: map[pii.Type]int64{pii.Email: 0}}}}
}

// apiRecordInventory reads the control field, then the report file (at
// most maxInventoryReport bytes), checks the report, files it as evidence and
// records the inventory. The evidence is stored first (the blob store works
// outside the database transaction); if recording the inventory then fails,
// the evidence stays filed and the error is returned.
func (s *Server) apiRecordInventory(w http.ResponseWriter, r *http.Request, c *call) error {
	if ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ctype != "multipart/form-data" {
		return attest.Invalid("Content-Type", "send multipart/form-data with a control field and the report as file")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxInventoryReport+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return attest.Invalid("body", "is not a valid multipart form")
	}
	var ref, filename string
	var data []byte
	for data == nil {
		part, err := mr.NextPart()
		if err == io.EOF {
			return attest.Invalid("file", "is required")
		}
		if err != nil {
			return attest.Invalid("body", "is not a valid multipart form")
		}
		switch part.FormName() {
		case "control":
			v, err := io.ReadAll(io.LimitReader(part, 257))
			if err != nil || len(v) > 256 {
				return attest.Invalid("control", "is too long")
			}
			ref = string(v)
		case "file":
			filename = cleanFilename(part.FileName())
			data, err = io.ReadAll(io.LimitReader(part, maxInventoryReport+1))
			if err != nil {
				return attest.Invalid("file", "could not be read")
			}
			if len(data) > maxInventoryReport {
				return attest.Invalid("file", fmt.Sprintf("is larger than %d bytes", maxInventoryReport))
			}
		case "csrf":
		default:
			return attest.Invalid(part.FormName(), "is not a known field")
		}
		part.Close()
	}
	if ref == "" {
		return attest.Invalid("control", "is required (a control id or code), before the file")
	}
	ctl, err := s.controlByRef(r, c, ref)
	if err != nil {
		return err
	}
	report, err := pii.ParseReport(data)
	if err != nil {
		return attest.Invalid("file", err.Error())
	}
	if filename == "" {
		filename = "pii-inventory-" + report.ScannedAt.Format("2006-01-02") + ".json"
	}
	meta := evidence.Meta{Title: "Personal data inventory, scanned " + report.ScannedAt.Format("2006-01-02"),
		Filename: filename, ContentType: "application/json", EffectiveAt: report.ScannedAt}
	if meta.EffectiveAt.After(s.db.Now()) {
		meta.EffectiveAt = s.db.Now()
	}
	item, err := evidence.AddFile(r.Context(), s.db, s.blobs, c.Actor, ctl.ID, meta, bytes.NewReader(data), s.maxUp)
	if err != nil {
		return err
	}
	var inv privacy.Inventory
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		inv, err = privacy.Record(r.Context(), tx, c.Actor.OrgID, ctl.ID, item.ID, report)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, inv)
}

// controlByRef finds a control by id, or else by its code (exactly).
func (s *Server) controlByRef(r *http.Request, c *call, ref string) (control.Control, error) {
	ctl, err := control.Get(r.Context(), s.db.Q(), c.Actor.OrgID, ref)
	if err == nil || attest.KindOf(err) != attest.KindNotFound {
		return ctl, err
	}
	list, err := control.List(r.Context(), s.db.Q(), c.Actor.OrgID, control.Filter{Query: ref})
	if err != nil {
		return control.Control{}, err
	}
	for _, x := range list {
		if x.Code == ref {
			return x, nil
		}
	}
	return control.Control{}, attest.Invalid("control", "no control has this id or code")
}

func (s *Server) apiInventories(w http.ResponseWriter, r *http.Request, c *call) error {
	items, err := privacy.List(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(items, ""))
}

func (s *Server) apiLatestInventory(w http.ResponseWriter, r *http.Request, c *call) error {
	inv, err := privacy.Latest(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inv)
}

func (s *Server) apiInventory(w http.ResponseWriter, r *http.Request, c *call) error {
	inv, err := privacy.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inv)
}
