package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
)

// templateFuncs are the helpers every page template may call. They format;
// they never query.
var templateFuncs = template.FuncMap{
	"pct":      percent,
	"donut":    donutChart,
	"bars":     barChart,
	"scorebar": scoreBar,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"short": func(hash string) string {
		if len(hash) > 12 {
			return hash[:12] + "…"
		}
		return hash
	},
	"statusLabel": statusLabel,
	"prettyJSON":  prettyJSON,
	"join":        strings.Join,
	"bytes":       humanBytes,
	"roleIn":      func(r attest.Role, roles []attest.Role) bool { return slices.Contains(roles, r) },
}

// statusLabel is a control status in words.
func statusLabel(s control.Status) string {
	switch s {
	case control.StatusNotStarted:
		return "Not started"
	case control.StatusInProgress:
		return "In progress"
	case control.StatusImplemented:
		return "Implemented"
	case control.StatusNotApplicable:
		return "Not applicable"
	}
	return string(s)
}

// prettyJSON indents stored JSON for reading; "null" reads as nothing.
func prettyJSON(s string) string {
	if s == "" || s == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}

func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + unit
}
