package policy

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/framework"
)

// Template is one policy of the built-in library: Markdown with {{name}}
// placeholders, and front matter naming the controls and criteria the
// policy supports.
type Template struct {
	ID       string            `json:"id" yaml:"id"`
	Title    string            `json:"title" yaml:"title"`
	Summary  string            `json:"summary" yaml:"summary"`
	Controls []string          `json:"controls" yaml:"controls"`
	Criteria []string          `json:"criteria" yaml:"criteria"`
	Defaults map[string]string `json:"variables" yaml:"variables"` // template-specific variables and their default values
	Body     string            `json:"-" yaml:"-"`
}

// StandardVariables are filled from the organisation and the policy for
// every template; a template may declare more, with defaults, in its front
// matter.
var StandardVariables = []string{"company", "owner", "owner_email", "security_contact", "review_cadence", "effective_date"}

//go:embed templates/*.md
var templateFiles embed.FS

var templates = sync.OnceValues(func() ([]Template, error) {
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("load policy templates: %w", err)
	}
	catalog, err := framework.Builtin()
	if err != nil {
		return nil, fmt.Errorf("load policy templates: %w", err)
	}
	lib, err := control.Library()
	if err != nil {
		return nil, fmt.Errorf("load policy templates: %w", err)
	}
	codes := map[string]bool{}
	for _, c := range lib {
		codes[c.Code] = true
	}
	knownCriterion := func(id string) bool {
		for _, f := range catalog.Frameworks() {
			if _, ok := f.Criterion(id); ok {
				return true
			}
		}
		return false
	}
	return loadTemplates(sub, func(c string) bool { return codes[c] }, knownCriterion)
})

// Templates returns the built-in policy templates ordered by title.
func Templates() ([]Template, error) {
	ts, err := templates()
	if err != nil {
		return nil, err
	}
	return slices.Clone(ts), nil
}

// TemplateByID returns one template; an unknown id is Invalid on the
// field template_id, since it is always something a caller sent.
func TemplateByID(id string) (Template, error) {
	ts, err := templates()
	if err != nil {
		return Template{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return Template{}, attest.Invalid("template_id", fmt.Sprintf("no policy template %q; GET /api/v1/policy-templates lists them", id))
}

var (
	placeholder = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)
	templateID  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	varName     = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)
)

// loadTemplates parses and validates every *.md file of fsys.
func loadTemplates(fsys fs.FS, knownControl, knownCriterion func(string) bool) ([]Template, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, fmt.Errorf("list policy templates: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("no policy templates")
	}
	var out []Template
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read policy template %s: %w", name, err)
		}
		t, err := parseTemplate(data)
		if err != nil {
			return nil, fmt.Errorf("policy template %s: %w", name, err)
		}
		if err := t.validate(knownControl, knownCriterion); err != nil {
			return nil, fmt.Errorf("policy template %s: %w", name, err)
		}
		if other, dup := seen[t.ID]; dup {
			return nil, fmt.Errorf("policy template %s: id %q already used by %s", name, t.ID, other)
		}
		seen[t.ID] = name
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out, nil
}

// parseTemplate splits "---\nYAML\n---\nMarkdown".
func parseTemplate(data []byte) (Template, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	rest, ok := strings.CutPrefix(text, "---\n")
	if !ok {
		return Template{}, errors.New("must start with a --- front matter block")
	}
	front, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return Template{}, errors.New("front matter is not closed by ---")
	}
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader([]byte(front)))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil && !errors.Is(err, io.EOF) {
		return Template{}, fmt.Errorf("front matter: %w", err)
	}
	t.Body = strings.TrimLeft(body, "\n")
	return t, nil
}

func (t Template) validate(knownControl, knownCriterion func(string) bool) error {
	switch {
	case !templateID.MatchString(t.ID):
		return fmt.Errorf("id %q must be lower-case words joined by hyphens", t.ID)
	case strings.TrimSpace(t.Title) == "" || len(t.Title) > maxTitle:
		return errors.New("title must be 1 to 200 characters")
	case strings.TrimSpace(t.Summary) == "":
		return errors.New("missing summary")
	case len(t.Controls) == 0:
		return errors.New("maps to no controls")
	case len(t.Criteria) == 0:
		return errors.New("maps to no criteria")
	case len(strings.Fields(t.Body)) < 300:
		return fmt.Errorf("body has only %d words; a policy a company can adopt needs substance", len(strings.Fields(t.Body)))
	}
	for _, c := range t.Controls {
		if !knownControl(c) {
			return fmt.Errorf("unknown control code %q", c)
		}
	}
	for _, c := range t.Criteria {
		if !knownCriterion(c) {
			return fmt.Errorf("unknown criterion %q", c)
		}
	}
	for k := range t.Defaults {
		if !varName.MatchString(k) || slices.Contains(StandardVariables, k) {
			return fmt.Errorf("variable %q must be a new lower-case name", k)
		}
	}
	for _, m := range placeholder.FindAllStringSubmatch(t.Body, -1) {
		if _, ok := t.Defaults[m[1]]; !ok && !slices.Contains(StandardVariables, m[1]) {
			return fmt.Errorf("placeholder {{%s}} is neither a standard variable nor declared under variables", m[1])
		}
	}
	if !strings.HasPrefix(t.Body, "# ") {
		return errors.New("body must start with a level-one heading")
	}
	return nil
}

// Variables returns the names this template uses, standard ones first.
func (t Template) Variables() []string {
	out := slices.Clone(StandardVariables)
	var extra []string
	for k := range t.Defaults {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// Fill substitutes vars (falling back to the template's defaults) into the
// body. Values are inserted as literal text: Markdown punctuation in them
// is escaped and line breaks become spaces, so an organisation name cannot
// add headings, links or HTML to the document.
func (t Template) Fill(vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(t.Body, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok && strings.TrimSpace(v) != "" {
			return escapeMarkdown(v)
		}
		if v, ok := t.Defaults[name]; ok {
			return escapeMarkdown(v)
		}
		return m
	})
}

// escapeMarkdown makes s read literally inside a Markdown paragraph.
func escapeMarkdown(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|~!&{}", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
