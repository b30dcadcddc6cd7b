package control

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/attest-hq/attest/framework"
)

// Template is a control from the built-in library: what an organisation
// copies into its own control list when it starts, before it assigns owners
// or sets a status.
type Template struct {
	Code          string    `yaml:"code" json:"code"` // stable across releases, e.g. "AC-02"
	Title         string    `yaml:"title" json:"title"`
	Description   string    `yaml:"description" json:"description"`
	TestProcedure string    `yaml:"test_procedure" json:"test_procedure"` // how an auditor tests it
	Evidence      []string  `yaml:"evidence" json:"evidence"`
	OwnerRole     string    `yaml:"owner_role" json:"owner_role"`
	Frequency     Frequency `yaml:"frequency" json:"frequency"`
	Area          string    `yaml:"-" json:"area"` // set from the file the control is in
	Criteria      []string  `yaml:"criteria" json:"criteria"`
}

// Control returns the template as a new control of no organisation: status
// not started, not custom. The caller sets the id, the organisation and the
// owner. Slices are copied so that editing the control leaves the library
// untouched.
func (t Template) Control() Control {
	return Control{
		Code:          t.Code,
		Title:         t.Title,
		Description:   t.Description,
		TestProcedure: t.TestProcedure,
		Evidence:      slices.Clone(t.Evidence),
		OwnerRole:     t.OwnerRole,
		Frequency:     t.Frequency,
		Area:          t.Area,
		Criteria:      slices.Clone(t.Criteria),
		Status:        StatusNotStarted,
		Custom:        false,
	}
}

// libraryFile is the shape of one file under library/: one area and its
// controls, so the area label is written once.
type libraryFile struct {
	Area     string     `yaml:"area"`
	Controls []Template `yaml:"controls"`
}

//go:embed library/*.yaml
var libraryFiles embed.FS

// library parses the embedded files once per process.
var library = sync.OnceValues(func() ([]Template, error) {
	catalog, err := framework.Builtin()
	if err != nil {
		return nil, fmt.Errorf("load control library: %w", err)
	}
	sub, err := fs.Sub(libraryFiles, "library")
	if err != nil {
		return nil, fmt.Errorf("load control library: %w", err)
	}
	return loadLibrary(sub, catalog)
})

// Library returns every control of the built-in library, ordered by file
// name and then as written. The templates are shared: callers must not
// modify their slices (use Template.Control for an editable copy).
func Library() ([]Template, error) {
	ts, err := library()
	if err != nil {
		return nil, err
	}
	return slices.Clone(ts), nil
}

var codePattern = regexp.MustCompile(`^[A-Z]{2,3}-[0-9]{2,3}$`)

// loadLibrary parses and validates every *.yaml file of fsys. A criterion id
// is accepted when any framework of the catalog defines it, so one control
// may later map to SOC 2 and ISO 27001 alike.
func loadLibrary(fsys fs.FS, catalog *framework.Catalog) ([]Template, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list control library files: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("control library is empty")
	}
	known := func(id string) bool {
		for _, f := range catalog.Frameworks() {
			if _, ok := f.Criterion(id); ok {
				return true
			}
		}
		return false
	}
	var all []Template
	seen := map[string]string{} // code -> file
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read control library file %s: %w", name, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var file libraryFile
		if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("decode control library file %s: %w", name, err)
		}
		if strings.TrimSpace(file.Area) == "" {
			return nil, fmt.Errorf("control library file %s: missing area", name)
		}
		if len(file.Controls) == 0 {
			return nil, fmt.Errorf("control library file %s: no controls", name)
		}
		for i, t := range file.Controls {
			t.Area = file.Area
			if err := validateTemplate(t, known); err != nil {
				label := t.Code
				if label == "" {
					label = fmt.Sprintf("#%d", i+1)
				}
				return nil, fmt.Errorf("control library file %s: control %s: %w", name, label, err)
			}
			if other, dup := seen[t.Code]; dup {
				return nil, fmt.Errorf("control library file %s: control %s: code already used in %s", name, t.Code, other)
			}
			seen[t.Code] = name
			all = append(all, t)
		}
	}
	return all, nil
}

func validateTemplate(t Template, knownCriterion func(string) bool) error {
	if !codePattern.MatchString(t.Code) {
		return fmt.Errorf("code %q must look like AC-01", t.Code)
	}
	for _, field := range [...]struct{ name, value string }{
		{"title", t.Title}, {"description", t.Description}, {"test_procedure", t.TestProcedure},
		{"owner_role", t.OwnerRole},
	} {
		if strings.TrimSpace(field.value) == "" {
			return fmt.Errorf("missing %s", field.name)
		}
	}
	if _, err := ParseFrequency(string(t.Frequency)); err != nil {
		return fmt.Errorf("frequency %q: %w", t.Frequency, err)
	}
	if len(t.Evidence) == 0 {
		return errors.New("no evidence items")
	}
	for _, e := range t.Evidence {
		if strings.TrimSpace(e) == "" {
			return errors.New("empty evidence item")
		}
	}
	if len(t.Criteria) == 0 {
		return errors.New("maps to no criteria")
	}
	for i, id := range t.Criteria {
		if !knownCriterion(id) {
			return fmt.Errorf("unknown criterion %q", id)
		}
		if slices.Contains(t.Criteria[:i], id) {
			return fmt.Errorf("criterion %s listed twice", id)
		}
	}
	return nil
}
