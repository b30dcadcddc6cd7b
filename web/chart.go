package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// The charts are drawn on the server as inline SVG: no JavaScript, no
// build step, and they print. Colours come from presentation attributes
// rather than style attributes, which the content security policy blocks.
// Every label is escaped here, since the result is trusted template.HTML.

// Score colours: red below a third, amber below two thirds, green above.
const (
	colourLow   = "#c0392b"
	colourMid   = "#d68910"
	colourHigh  = "#1e8449"
	colourTrack = "#e3e6eb"
	colourMuted = "#aab1bd"
	colourText  = "#1d2330"
)

func scoreColour(score float64) string {
	switch {
	case score < 1.0/3:
		return colourLow
	case score < 2.0/3:
		return colourMid
	default:
		return colourHigh
	}
}

// clamp01 keeps a score inside [0, 1], NaN becoming 0.
func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

// percent formats a score as a percentage, rounding down so that a score
// short of 1 never reads as 100% and one above 0 never reads as 0%: below
// 10% it keeps a decimal, so the first controls done visibly move it.
func percent(score float64) string {
	p := clamp01(score) * 100
	if p > 0 && p < 10 {
		return fmt.Sprintf("%.1f%%", max(math.Floor(p*10+1e-9)/10, 0.1))
	}
	return fmt.Sprintf("%d%%", int(math.Floor(p+1e-9)))
}

// donutChart draws a ring filled to score (0..1) with the percentage in
// its middle and label under it.
func donutChart(score float64, label string) template.HTML {
	score = clamp01(score)
	const size, stroke = 180.0, 22.0
	r := (size - stroke) / 2
	circ := 2 * math.Pi * r
	filled := circ * score
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart donut" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s: %s">`,
		size, size, size, size, html.EscapeString(label), percent(score))
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="none" stroke="%s" stroke-width="%.0f"/>`, size/2, size/2, r, colourTrack, stroke)
	if filled > 0 {
		// Start at 12 o'clock and run clockwise.
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="none" stroke="%s" stroke-width="%.0f" stroke-dasharray="%.2f %.2f" transform="rotate(-90 %.1f %.1f)"/>`,
			size/2, size/2, r, scoreColour(score), stroke, filled, circ, size/2, size/2)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="36" font-weight="600" fill="%s">%s</text>`, size/2, size/2+8, colourText, percent(score))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" fill="%s">%s</text>`, size/2, size/2+30, colourMuted, html.EscapeString(label))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// chartBar is one bar of a bar chart.
type chartBar struct {
	Label string
	Score float64 // 0..1
	Muted bool    // drawn grey, e.g. a category out of scope
	Note  string  // shown after the percentage, e.g. "not in scope"
}

// barChart draws one horizontal bar per entry, labelled on the left with
// the percentage on the right.
func barChart(bars []chartBar) template.HTML {
	const labelW, barW, valueW, rowH, barH = 190.0, 320.0, 160.0, 34.0, 16.0
	width := labelW + barW + valueW
	height := rowH*float64(len(bars)) + 4
	var b strings.Builder
	var desc []string
	for _, bar := range bars {
		desc = append(desc, bar.Label+" "+percent(bar.Score))
	}
	fmt.Fprintf(&b, `<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		width, height, width, height, html.EscapeString(strings.Join(desc, ", ")))
	for i, bar := range bars {
		score := clamp01(bar.Score)
		y := float64(i)*rowH + 4
		fill, text := scoreColour(score), colourText
		if bar.Muted {
			fill, text = colourMuted, colourMuted
		}
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="14" fill="%s">%s</text>`, y+barH-3, text, html.EscapeString(bar.Label))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" rx="3" fill="%s"/>`, labelW, y, barW, barH, colourTrack)
		if w := barW * score; w > 0 {
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.2f" height="%.0f" rx="3" fill="%s"/>`, labelW, y, w, barH, fill)
		}
		value := percent(score)
		if bar.Note != "" {
			value += " · " + bar.Note
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="14" fill="%s">%s</text>`, labelW+barW+10, y+barH-3, text, html.EscapeString(value))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// scoreBar is a small inline bar for tables, e.g. one criterion's score.
func scoreBar(score float64) template.HTML {
	score = clamp01(score)
	const w, h = 80.0, 8.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart mini" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" aria-hidden="true">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" rx="2" fill="%s"/>`, w, h, colourTrack)
	if score > 0 {
		fmt.Fprintf(&b, `<rect width="%.2f" height="%.0f" rx="2" fill="%s"/>`, w*score, h, scoreColour(score))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
