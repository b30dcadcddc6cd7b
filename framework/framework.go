// Package framework holds the compliance frameworks Attest knows: their
// categories, groups and criteria. Each framework is a YAML data file embedded
// in the binary (data/*.yaml), so adding a framework such as ISO 27001 means
// adding a file, not writing code.
package framework

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Category is a top-level section of a framework that an organisation puts
// in or out of scope, such as SOC 2's "availability".
type Category struct {
	ID       string `yaml:"id" json:"id"`
	Name     string `yaml:"name" json:"name"`
	Summary  string `yaml:"summary" json:"summary"`   // when a company picks it into scope
	Required bool   `yaml:"required" json:"required"` // always in scope
}

// Group gathers related criteria, such as SOC 2's CC6 "Logical and physical
// access controls". It exists for display; scoring works on criteria.
type Group struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

// Criterion is one requirement of a framework that controls map to.
type Criterion struct {
	ID          string   `yaml:"id" json:"id"`
	Category    string   `yaml:"category" json:"category"`
	Group       string   `yaml:"group" json:"group"`
	Title       string   `yaml:"title" json:"title"`
	Description string   `yaml:"description" json:"description"` // what the criterion asks
	Guidance    string   `yaml:"guidance" json:"guidance"`       // what an auditor looks for and tests
	Evidence    []string `yaml:"evidence" json:"evidence"`       // typical evidence items
}

// Framework is one catalog of criteria. Values returned by Builtin are
// shared: callers must not modify them.
type Framework struct {
	ID         string      `yaml:"id" json:"id"`
	Name       string      `yaml:"name" json:"name"`
	Version    string      `yaml:"version" json:"version"`
	Categories []Category  `yaml:"categories" json:"categories"`
	Groups     []Group     `yaml:"groups" json:"groups"`
	Criteria   []Criterion `yaml:"criteria" json:"criteria"`

	criterionAt map[string]int // criterion id -> index in Criteria
	categoryAt  map[string]int
	groupAt     map[string]int
}

// Criterion returns the criterion with the given id.
func (f *Framework) Criterion(id string) (Criterion, bool) {
	i, ok := f.criterionAt[id]
	if !ok {
		return Criterion{}, false
	}
	return f.Criteria[i], true
}

// CriterionIndex returns the position of criterion id in f.Criteria, so that
// callers scoring many controls can keep per-criterion state in a slice.
func (f *Framework) CriterionIndex(id string) (int, bool) {
	i, ok := f.criterionAt[id]
	return i, ok
}

// Category returns the category with the given id.
func (f *Framework) Category(id string) (Category, bool) {
	i, ok := f.categoryAt[id]
	if !ok {
		return Category{}, false
	}
	return f.Categories[i], true
}

// Group returns the group with the given id.
func (f *Framework) Group(id string) (Group, bool) {
	i, ok := f.groupAt[id]
	if !ok {
		return Group{}, false
	}
	return f.Groups[i], true
}

// Parse decodes one framework file and validates it: ids are unique, every
// criterion names a known category and group, and the text a user reads is
// present. Unknown fields are rejected so that a typo in a data file fails
// loudly instead of dropping text.
func Parse(data []byte) (*Framework, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f Framework
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty framework file")
		}
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := f.index(); err != nil {
		return nil, fmt.Errorf("framework %q: %w", f.ID, err)
	}
	return &f, nil
}

// index validates f and builds its lookup maps.
func (f *Framework) index() error {
	if strings.TrimSpace(f.ID) == "" {
		return errors.New("missing id")
	}
	if strings.TrimSpace(f.Name) == "" {
		return errors.New("missing name")
	}
	if len(f.Criteria) == 0 {
		return errors.New("no criteria")
	}
	f.categoryAt = make(map[string]int, len(f.Categories))
	for i, c := range f.Categories {
		switch {
		case strings.TrimSpace(c.ID) == "":
			return fmt.Errorf("category #%d: missing id", i+1)
		case strings.TrimSpace(c.Name) == "":
			return fmt.Errorf("category %s: missing name", c.ID)
		case strings.TrimSpace(c.Summary) == "":
			return fmt.Errorf("category %s: missing summary", c.ID)
		}
		if _, dup := f.categoryAt[c.ID]; dup {
			return fmt.Errorf("category %s: duplicate id", c.ID)
		}
		f.categoryAt[c.ID] = i
	}
	f.groupAt = make(map[string]int, len(f.Groups))
	for i, g := range f.Groups {
		switch {
		case strings.TrimSpace(g.ID) == "":
			return fmt.Errorf("group #%d: missing id", i+1)
		case strings.TrimSpace(g.Name) == "":
			return fmt.Errorf("group %s: missing name", g.ID)
		}
		if _, dup := f.groupAt[g.ID]; dup {
			return fmt.Errorf("group %s: duplicate id", g.ID)
		}
		f.groupAt[g.ID] = i
	}
	f.criterionAt = make(map[string]int, len(f.Criteria))
	for i, c := range f.Criteria {
		if strings.TrimSpace(c.ID) == "" {
			return fmt.Errorf("criterion #%d: missing id", i+1)
		}
		if _, dup := f.criterionAt[c.ID]; dup {
			return fmt.Errorf("criterion %s: duplicate id", c.ID)
		}
		if _, ok := f.categoryAt[c.Category]; !ok {
			return fmt.Errorf("criterion %s: unknown category %q", c.ID, c.Category)
		}
		if _, ok := f.groupAt[c.Group]; !ok {
			return fmt.Errorf("criterion %s: unknown group %q", c.ID, c.Group)
		}
		for _, field := range [...]struct{ name, value string }{
			{"title", c.Title}, {"description", c.Description}, {"guidance", c.Guidance},
		} {
			if strings.TrimSpace(field.value) == "" {
				return fmt.Errorf("criterion %s: missing %s", c.ID, field.name)
			}
		}
		if len(c.Evidence) == 0 {
			return fmt.Errorf("criterion %s: no evidence items", c.ID)
		}
		for _, e := range c.Evidence {
			if strings.TrimSpace(e) == "" {
				return fmt.Errorf("criterion %s: empty evidence item", c.ID)
			}
		}
		f.criterionAt[c.ID] = i
	}
	return nil
}

// Catalog is the set of frameworks Attest ships.
type Catalog struct {
	frameworks []*Framework // sorted by id
	byID       map[string]*Framework
}

// Frameworks returns every framework, ordered by id.
func (c *Catalog) Frameworks() []*Framework {
	return append([]*Framework(nil), c.frameworks...)
}

// Framework returns the framework with the given id, e.g. "soc2".
func (c *Catalog) Framework(id string) (*Framework, bool) {
	f, ok := c.byID[id]
	return f, ok
}

// Load parses every *.yaml file at the top of fsys into a catalog. Builtin
// uses it on the embedded files; tests use it on their own.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list framework files: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("no framework files")
	}
	c := &Catalog{byID: make(map[string]*Framework, len(names))}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read framework file %s: %w", name, err)
		}
		f, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("load framework file %s: %w", path.Base(name), err)
		}
		if _, dup := c.byID[f.ID]; dup {
			return nil, fmt.Errorf("load framework file %s: framework id %q already defined", name, f.ID)
		}
		c.byID[f.ID] = f
		c.frameworks = append(c.frameworks, f)
	}
	sort.Slice(c.frameworks, func(i, j int) bool { return c.frameworks[i].ID < c.frameworks[j].ID })
	return c, nil
}

//go:embed data/*.yaml
var builtinFiles embed.FS

// builtin parses the embedded files once per process; the data cannot change
// after build, so one result (or one error) serves every caller.
var builtin = sync.OnceValues(func() (*Catalog, error) {
	sub, err := fs.Sub(builtinFiles, "data")
	if err != nil {
		return nil, fmt.Errorf("open embedded frameworks: %w", err)
	}
	return Load(sub)
})

// Builtin returns the catalog of frameworks embedded in the binary. The
// result is shared and must not be modified.
func Builtin() (*Catalog, error) {
	return builtin()
}

// SOC2 is the id of the SOC 2 Trust Services Criteria framework.
const SOC2 = "soc2"
