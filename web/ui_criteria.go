package web

import (
	"net/http"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/framework"
)

type criterionRow struct {
	framework.Criterion
	Readiness *control.CriterionReadiness // nil when its category is out of scope
}

type criteriaGroup struct {
	framework.Group
	Criteria []criterionRow
}

type criteriaCategory struct {
	framework.Category
	InScope bool
	Score   float64
	Groups  []criteriaGroup
}

type criteriaPage struct {
	Framework  string
	Categories []criteriaCategory
}

func (s *Server) criteriaList(w http.ResponseWriter, r *http.Request, c *call) error {
	fw, err := soc2Framework()
	if err != nil {
		return err
	}
	rd, err := s.readiness(r.Context(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	byID := map[string]*control.CriterionReadiness{}
	for i := range rd.Criteria {
		byID[rd.Criteria[i].ID] = &rd.Criteria[i]
	}
	catScore := map[string]control.CategoryReadiness{}
	for _, cr := range rd.Categories {
		catScore[cr.ID] = cr
	}
	p := criteriaPage{Framework: fw.Name + " · " + fw.Version}
	for _, cat := range fw.Categories {
		cc := criteriaCategory{Category: cat, InScope: catScore[cat.ID].InScope, Score: catScore[cat.ID].Score}
		for _, g := range fw.Groups {
			var rows []criterionRow
			for _, cr := range fw.Criteria {
				if cr.Category == cat.ID && cr.Group == g.ID {
					rows = append(rows, criterionRow{Criterion: cr, Readiness: byID[cr.ID]})
				}
			}
			if len(rows) > 0 {
				cc.Groups = append(cc.Groups, criteriaGroup{Group: g, Criteria: rows})
			}
		}
		p.Categories = append(p.Categories, cc)
	}
	return s.show(w, r, c, http.StatusOK, "criteria.html", "Criteria", "criteria", p)
}

type criterionPage struct {
	framework.Criterion
	CategoryName string
	GroupName    string
	Readiness    *control.CriterionReadiness // nil when out of scope
	Controls     []control.Control
}

func (s *Server) criterionDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	fw, err := soc2Framework()
	if err != nil {
		return err
	}
	cr, ok := fw.Criterion(r.PathValue("id"))
	if !ok {
		return attest.NotFound("criterion " + r.PathValue("id"))
	}
	rd, err := s.readiness(r.Context(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	cs, err := control.List(r.Context(), s.db.Q(), c.Actor.OrgID, control.Filter{Criterion: cr.ID})
	if err != nil {
		return err
	}
	p := criterionPage{Criterion: cr, Controls: cs}
	if cat, ok := fw.Category(cr.Category); ok {
		p.CategoryName = cat.Name
	}
	if g, ok := fw.Group(cr.Group); ok {
		p.GroupName = g.Name
	}
	for i := range rd.Criteria {
		if rd.Criteria[i].ID == cr.ID {
			p.Readiness = &rd.Criteria[i]
		}
	}
	return s.show(w, r, c, http.StatusOK, "criterion.html", cr.ID+" "+cr.Title, "criteria", p)
}
