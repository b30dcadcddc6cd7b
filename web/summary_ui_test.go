package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/readiness"
	"github.com/attest-hq/attest/store"
)

func TestSummaryAndReadinessHistory(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		record := func() {
			must(t, db.InTx(ctx, attest.System(w.org), func(tx *store.Tx) error {
				_, err := readiness.Record(ctx, tx, w.org)
				return err
			}))
		}
		record()
		w.api("PATCH", "/api/v1/controls/"+w.control, w.tokens[attest.RoleOwner], `{"status":"implemented"}`)
		record() // same day: replaces the first reading
		_, body := w.api("GET", "/api/v1/readiness/history?days=30", w.tokens[attest.RoleViewer], "")
		hist := decode[list[readiness.Snapshot]](t, body)
		if len(hist.Items) != 1 || hist.Items[0].Overall <= 0 || hist.Items[0].Categories["security"] <= 0 {
			t.Fatalf("history: %s", body)
		}
		if resp, body := w.api("GET", "/api/v1/readiness/history?days=0", w.tokens[attest.RoleViewer], ""); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"days"`) {
			t.Fatalf("bad days: %d %s", resp.StatusCode, body)
		}
		// The viewer's one page: readiness, trend, late work, risks, open
		// incidents — but no alerts, which viewers may not read.
		resp, page := w.page(attest.RoleViewer, "GET", "/summary", url.Values{})
		html := string(page)
		if resp.StatusCode != 200 {
			t.Fatalf("summary: %d", resp.StatusCode)
		}
		for _, hook := range []string{"summary-overall", "summary-trend", "summary-overdue", "summary-risks", "summary-open"} {
			if !strings.Contains(html, `data-test-id="`+hook+`"`) {
				t.Errorf("summary lacks %s", hook)
			}
		}
		if strings.Contains(html, "and alerts") {
			t.Error("a viewer's summary mentions alerts")
		}
		if !strings.Contains(html, `class="chart trend"`) {
			t.Error("no trend chart")
		}
		_, page = w.page(attest.RoleAdmin, "GET", "/summary", url.Values{})
		if !strings.Contains(string(page), "and alerts") {
			t.Error("an admin's summary lacks alerts")
		}
	})
}
