package web

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestChartsEscapeLabelsAndClampScores(t *testing.T) {
	evil := `<script>alert(1)</script>" onload="x`
	for name, svg := range map[string]string{
		"donut":    string(donutChart(2.5, evil)),
		"bars":     string(barChart([]chartBar{{Label: evil, Score: -1, Note: evil}, {Label: "Security", Score: 0.5}})),
		"scorebar": string(scoreBar(0.25)),
	} {
		if strings.Contains(svg, "<script") || strings.Contains(svg, `" onload=`) {
			t.Errorf("%s: a label escaped its text: %s", name, svg)
		}
		// Well-formed XML proves no label broke the markup.
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := dec.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: not well-formed: %v\n%s", name, err, svg)
				}
				break
			}
		}
		if strings.Contains(svg, "style=") {
			t.Errorf("%s: uses a style attribute, which the CSP blocks", name)
		}
	}
	if got := string(donutChart(2.5, "x")); !strings.Contains(got, ">100%<") {
		t.Errorf("a score above 1 is not clamped: %s", got)
	}
}

func TestPercent(t *testing.T) {
	for score, want := range map[float64]string{0: "0%", 0.004: "0.4%", 0.0004: "0.1%", 0.0999: "9.9%", 0.5: "50%", 0.999: "99%", 1: "100%", -3: "0%"} {
		if got := percent(score); got != want {
			t.Errorf("percent(%v) = %q, want %q", score, got, want)
		}
	}
}
