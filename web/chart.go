package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
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

// trendPoint is one reading of a trend chart.
type trendPoint struct {
	Day   time.Time
	Score float64 // 0..1
}

// trendChart draws readiness over time as a line on a 0-100% scale, days
// spaced by the calendar (a gap in readings shows as a longer segment),
// with the first and last day and the latest value labelled.
func trendChart(points []trendPoint, label string) template.HTML {
	const w, h, left, right, top, bottom = 560.0, 180.0, 44.0, 64.0, 10.0, 26.0
	plotW, plotH := w-left-right, h-top-bottom
	var b strings.Builder
	desc := label + ": no readings yet"
	if n := len(points); n > 0 {
		desc = fmt.Sprintf("%s: %s on %s, %s on %s", label, percent(points[0].Score), points[0].Day.Format("2 Jan"),
			percent(points[n-1].Score), points[n-1].Day.Format("2 Jan 2006"))
	}
	fmt.Fprintf(&b, `<svg class="chart trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(desc))
	for _, g := range []float64{0, 0.5, 1} {
		y := top + plotH*(1-g)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="%s" stroke-width="1"/>`, left, y, left+plotW, y, colourTrack)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="%s">%d%%</text>`, left-6, y+4, colourMuted, int(g*100))
	}
	if len(points) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="13" text-anchor="middle" fill="%s">The first reading is taken today; the trend grows from there.</text>`, left+plotW/2, top+plotH/2, colourMuted)
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	first, last := points[0].Day, points[len(points)-1].Day
	span := last.Sub(first).Hours() / 24
	x := func(d time.Time) float64 {
		if span <= 0 {
			return left + plotW
		}
		return left + plotW*(d.Sub(first).Hours()/24)/span
	}
	y := func(s float64) float64 { return top + plotH*(1-clamp01(s)) }
	var path strings.Builder
	for i, p := range points {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.Day), y(p.Score))
	}
	latest := points[len(points)-1]
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"/>`, strings.TrimSpace(path.String()), scoreColour(latest.Score))
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`, x(latest.Day), y(latest.Score), scoreColour(latest.Score))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="600" fill="%s">%s</text>`, x(latest.Day)+8, y(latest.Score)+4, colourText, percent(latest.Score))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="%s">%s</text>`, left, h-6, colourMuted, first.Format("2 Jan 2006"))
	if span > 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end" fill="%s">%s</text>`, left+plotW, h-6, colourMuted, last.Format("2 Jan 2006"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
