package web_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/web"
)

// ChromiumEnv names the variable holding the Chromium binary for the
// browser test. When it is set the test must run: a browser that does not
// start fails it rather than skipping it (CI's scripts/test.sh sets it).
const ChromiumEnv = "ATTEST_TEST_CHROMIUM"

// ScreenshotEnv, when set to a directory, keeps the dashboard screenshot
// there for a person to look at.
const ScreenshotEnv = "ATTEST_TEST_SCREENSHOTS"

// notFoundPath is a page that does not exist.
const notFoundPath = "/no/such/page"

// chromiumPath finds the browser, or skips when none is installed and
// none was asked for.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv(ChromiumEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skipf("no Chromium found and %s is not set: install Debian's chromium (apt-get install chromium) to run the browser test", ChromiumEnv)
	return ""
}

// startServer runs the real server on 127.0.0.1:0 over a real database.
func startServer(t *testing.T, db *store.DB) string {
	t.Helper()
	master := make([]byte, keyring.KeySize)
	rand.Read(master)
	kr, err := keyring.FromBytes(master)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewDisk(t.TempDir(), kr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: db, Sealer: kr, Blobs: blobs, MaxUpload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// TestBrowserFirstHour walks the security lead's first hour in headless
// Chromium: set up, log out and back in, change a control's status, and
// see readiness move on the dashboard.
func TestBrowserFirstHour(t *testing.T) {
	chrome := chromiumPath(t)
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		base := startServer(t, db)
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chrome),
			chromedp.Headless,
			chromedp.NoSandbox, // the test may run as root in CI containers
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(t.TempDir()),
			chromedp.WindowSize(1280, 1100),
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		defer cancelAlloc()
		ctx, cancelCtx := chromedp.NewContext(actx)
		defer cancelCtx()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()

		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("start Chromium (%s): %v", chrome, err)
		}
		// Anything the page reports as an error (a CSP violation, a broken
		// asset, a script error) fails the test: the pages must work under
		// the strict policy.
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
				if strings.HasSuffix(m.URL, notFoundPath) {
					continue // the 404 page is meant to answer 404
				}
				if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
					mu.Lock()
					problems = append(problems, m.Text+" ("+m.URL+")")
					mu.Unlock()
				}
			}
		}()

		hook := func(id string) chromedp.CSS { return chromedp.CSS(`[data-test-id="` + id + `"]`) }
		do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
				t.Fatalf("%s (at %s): %v", step, loc, err)
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
		// snap keeps a screenshot of the current page when ScreenshotEnv
		// names a directory, for a person to look at the pages.
		shots := os.Getenv(ScreenshotEnv)
		snap := func(name string) {
			t.Helper()
			if shots == "" {
				return
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			file := filepath.Join(shots, strings.ReplaceAll(t.Name(), "/", "-")+"-"+name+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		const email, password = "ana@acme.test", "correct horse battery staple"

		// 1. A fresh install sends the first visitor to set-up.
		do("set up",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(hook("setup-form")),
		)
		snap("setup")
		do("fill in set-up",
			chromedp.SendKeys(hook("setup-org"), "Acme Robotics"),
			chromedp.SendKeys(hook("setup-email"), email),
			chromedp.SendKeys(hook("setup-password"), password),
			chromedp.SendKeys(hook("setup-password2"), password),
			chromedp.Click(hook("setup-submit")),
			chromedp.WaitVisible(hook("totp-begin")),
		)
		snap("totp")
		// 2. TOTP is offered; this org does not require it yet.
		do("skip TOTP and see the dashboard",
			chromedp.Click(hook("totp-skip")),
			chromedp.WaitVisible(hook("readiness-chart")),
		)
		before := text("readiness-overall")
		if before != "0%" {
			t.Fatalf("readiness of a fresh org reads %q, want 0%%", before)
		}

		// 3. Log out and back in.
		do("log out",
			chromedp.Click(hook("logout")),
			chromedp.WaitVisible(hook("login-form")),
		)
		snap("login")
		do("log in",
			chromedp.SendKeys(hook("login-email"), email),
			chromedp.SendKeys(hook("login-password"), password),
			chromedp.Click(hook("login-submit")),
			chromedp.WaitVisible(hook("readiness-chart")),
		)

		// 4. Find MFA among the controls and mark it implemented.
		do("change a control's status",
			chromedp.Navigate(base+"/controls"),
			chromedp.WaitVisible(hook("filters")),
			chromedp.SendKeys(hook("filter-q"), "AC-02"),
			chromedp.Click(hook("filter-submit")),
			chromedp.WaitVisible(hook("control-link-AC-02")),
		)
		snap("controls")
		do("open the control",
			chromedp.Click(hook("control-link-AC-02")),
			chromedp.WaitVisible(hook("control-form")),
			chromedp.SetValue(hook("control-status-select"), "implemented"),
			chromedp.Click(hook("control-save")),
			chromedp.WaitVisible(hook("flash")),
		)
		snap("control")
		if status := text("control-status"); status != "Implemented" {
			t.Fatalf("control status reads %q after saving", status)
		}

		// 5. The dashboard shows readiness moved.
		do("open the dashboard",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(hook("readiness-chart")),
		)
		after := text("readiness-overall")
		if after == before || after == "" {
			t.Fatalf("readiness did not change: %q -> %q", before, after)
		}
		t.Logf("readiness %s -> %s", before, after)

		// 6. Evidence uploaded from the browser (multipart, the CSRF token
		// in the form's action) makes the implemented control fully count.
		file := filepath.Join(t.TempDir(), "mfa-report.csv")
		if err := os.WriteFile(file, []byte("user,mfa\nana@acme.test,on\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		do("upload evidence",
			chromedp.Navigate(base+"/controls?q=AC-02"),
			chromedp.WaitVisible(hook("control-link-AC-02")),
			chromedp.Click(hook("control-link-AC-02")),
			chromedp.WaitVisible(hook("upload-form")),
			chromedp.SetUploadFiles(hook("upload-file"), []string{file}),
			chromedp.Click(hook("upload-submit")),
			chromedp.WaitVisible(hook("evidence-row")),
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(hook("readiness-chart")),
		)
		if withEvidence := text("readiness-overall"); withEvidence == after {
			t.Fatalf("readiness did not change with evidence: %q", withEvidence)
		} else {
			t.Logf("readiness with evidence %s", withEvidence)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}

		if shots != "" {
			for _, pg := range []struct{ name, path, hook string }{
				{"controls-all", "/controls", "controls-table"},
				{"criteria", "/criteria", "category-security"},
				{"criterion", "/criteria/CC6.6", "criterion-controls"},
				{"settings", "/settings", "settings-form"},
				{"members", "/members", "members-table"},
				{"auditlog", "/audit-log", "audit-table"},
				{"summary", "/summary", "summary-trend"},
				{"risks", "/risks", "nav-registers"},
				{"tasks", "/tasks", "nav-tasks"},
				{"alerts", "/alerts", "nav-alerts"},
				{"notfound", notFoundPath, "error"},
			} {
				do("open "+pg.path, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(hook(pg.hook)))
				snap(pg.name)
			}
		}

		dir := shots
		if dir == "" {
			dir = t.TempDir()
		}
		name := filepath.Join(dir, "dashboard-"+strings.ReplaceAll(t.Name(), "/", "-")+".png")
		if err := os.WriteFile(name, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("dashboard screenshot: %s", name)

		stopConsole()
		<-consoleDone
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Fatalf("the browser reported errors:\n%s", strings.Join(problems, "\n"))
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatal("the browser test ran out of time")
		}
	})
}
