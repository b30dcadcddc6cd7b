package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/privacy"
	"github.com/attest-hq/attest/privacy/pii"
)

// privacyPageData is what privacy_inventory.html shows.
type privacyPageData struct {
	Inventory *privacy.Inventory
	Control   control.Control
	Chart     template.HTML
	Types     []typeCount
	Locations []locationRow
	History   []privacy.Inventory
	Shown     int
}

type typeCount struct {
	Type  pii.Type
	Count int64
}

type locationRow struct {
	Where string
	Kind  string // file or column
	Types []typeCount
	Total int64
}

// maxPageLocations is how many locations the page lists (the busiest).
const maxPageLocations = 500

func (s *Server) privacyPage(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	var p privacyPageData
	inv, err := privacy.Latest(ctx, s.db.Q(), c.Actor.OrgID)
	switch {
	case attest.KindOf(err) == attest.KindNotFound:
	case err != nil:
		return err
	default:
		p.Inventory = &inv
		if p.Control, err = control.Get(ctx, s.db.Q(), c.Actor.OrgID, inv.ControlID); err != nil {
			return err
		}
		p.Types = countsOf(inv.Report.ByType)
		var total int64
		for _, t := range p.Types {
			total += t.Count
		}
		bars := make([]chartBar, 0, len(p.Types))
		for _, t := range p.Types {
			bars = append(bars, chartBar{Label: string(t.Type), Score: float64(t.Count) / float64(max(total, 1)), Note: fmt.Sprintf("%d found", t.Count)})
		}
		if len(bars) > 0 {
			p.Chart = barChart(bars)
		}
		for i, l := range inv.Report.Locations {
			if i == maxPageLocations {
				break
			}
			row := locationRow{Where: l.Where(), Kind: "file", Types: countsOf(l.Types)}
			if l.Path == "" {
				row.Kind = "column"
			}
			for _, t := range row.Types {
				row.Total += t.Count
			}
			p.Locations = append(p.Locations, row)
		}
		p.Shown = len(p.Locations)
	}
	if p.History, err = privacy.List(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "privacy_inventory.html", "Personal data", "privacy", p)
}

// countsOf orders type counts by count, then in the scanner's type order.
func countsOf(m map[pii.Type]int64) []typeCount {
	out := make([]typeCount, 0, len(m))
	for _, t := range pii.AllTypes {
		if n := m[t]; n > 0 {
			out = append(out, typeCount{t, n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}
