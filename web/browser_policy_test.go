package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

// TestBrowserMemberAcceptsPolicy walks the employee's journey in headless
// Chromium: a member logs in, follows "1 policy to accept", reads the
// policy and accepts it; the acceptance is recorded against the published
// version's hash.
func TestBrowserMemberAcceptsPolicy(t *testing.T) {
	chrome := chromiumPath(t)
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		bg := context.Background()
		const password = "correct horse battery staple"
		owner := testutil.Org(t, db, "Acme Robotics", "owner@acme.test")
		org := owner.OrgID
		approver := testutil.Member(t, db, org, "cto@acme.test", attest.RoleAdmin)
		member := testutil.Member(t, db, org, "dev@acme.test", attest.RoleMember)
		must(t, db.InTx(bg, attest.System(org), func(tx *store.Tx) error {
			return account.SetPassword(bg, tx, member.UserID, password)
		}))
		var pol policy.Policy
		step := func(actor attest.Actor, f func(tx *store.Tx) error) { must(t, db.InTx(bg, actor, f)) }
		step(owner, func(tx *store.Tx) (err error) {
			pol, err = policy.Create(bg, tx, org, policy.New{TemplateID: "acceptable-use"})
			return err
		})
		step(owner, func(tx *store.Tx) (err error) { _, err = policy.Submit(bg, tx, org, pol.ID); return err })
		step(approver, func(tx *store.Tx) (err error) { _, err = policy.Approve(bg, tx, org, pol.ID); return err })
		step(approver, func(tx *store.Tx) (err error) { pol, err = policy.Publish(bg, tx, org, pol.ID); return err })

		base := startServer(t, db)
		actx, cancelAlloc := chromedp.NewExecAllocator(bg,
			chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1100))
		defer cancelAlloc()
		ctx, cancelCtx := chromedp.NewContext(actx)
		defer cancelCtx()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("start Chromium (%s): %v", chrome, err)
		}
		// A page error (a CSP violation, a broken asset) fails the test.
		var mu sync.Mutex
		var problems []string
		cctx, stopConsole := context.WithCancel(ctx)
		consoleDone := make(chan struct{})
		messages := chromedp.Console(cctx)
		go func() {
			defer close(consoleDone)
			for m, err := range messages {
				if err != nil {
					return
				}
				if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
					mu.Lock()
					problems = append(problems, m.Text+" ("+m.URL+")")
					mu.Unlock()
				}
			}
		}()

		hook := func(id string) chromedp.CSS { return chromedp.CSS(`[data-test-id="` + id + `"]`) }
		do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
				t.Fatalf("%s (at %s): %v", what, loc, err)
			}
		}
		text := func(id string) string {
			t.Helper()
			s, err := chromedp.Run(ctx, chromedp.TextContent(hook(id)))
			if err != nil {
				t.Fatalf("read %s: %v", id, err)
			}
			return strings.TrimSpace(s)
		}
		snap := func(name string) {
			t.Helper()
			dir := os.Getenv(ScreenshotEnv)
			if dir == "" {
				return
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			must(t, os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "-")+"-"+name+".png"), png, 0o644))
		}

		do("log in as the member",
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(hook("login-form")),
			chromedp.SendKeys(hook("login-email"), "dev@acme.test"),
			chromedp.SendKeys(hook("login-password"), password),
			chromedp.Click(hook("login-submit")),
			chromedp.WaitVisible(hook("nav-policies")),
		)
		do("open the policies",
			chromedp.Click(hook("nav-policies")),
			chromedp.WaitVisible(hook("policies-to-accept-banner")),
		)
		snap("policies")
		if got := text("policies-to-accept-banner"); !strings.HasPrefix(got, "1 policy to accept") {
			t.Fatalf("banner reads %q", got)
		}
		do("follow the banner",
			chromedp.Click(hook("policies-to-accept-banner")+" a"),
			chromedp.WaitVisible(hook("accept-policy")),
		)
		snap("to-accept")
		if got := text("policies-to-accept"); got != "1 policy to accept" {
			t.Fatalf("heading reads %q", got)
		}
		if body := text("policy-to-accept"); !strings.Contains(body, "Acceptable Use Policy") || !strings.Contains(body, "Acme Robotics") {
			t.Fatalf("the policy to read: %.200q", body)
		}
		do("accept it",
			chromedp.Click(hook("accept-policy")),
			chromedp.WaitVisible(hook("nothing-to-accept")),
		)
		snap("accepted")
		if got := text("policies-to-accept"); got != "0 policies to accept" {
			t.Fatalf("after accepting, heading reads %q", got)
		}
		if got := text("policy-notice"); !strings.Contains(got, "acceptance is recorded") {
			t.Fatalf("notice reads %q", got)
		}

		status, err := policy.AckStatus(bg, db.Q(), org, pol.ID)
		must(t, err)
		found := false
		for _, s := range status {
			if s.UserID == member.UserID {
				found = s.Accepted && s.VersionHash == pol.Published.ContentHash
			}
		}
		if !found {
			t.Fatalf("no acceptance recorded for the member: %+v", status)
		}

		stopConsole()
		<-consoleDone
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Fatalf("the browser reported errors:\n%s", strings.Join(problems, "\n"))
		}
	})
}
