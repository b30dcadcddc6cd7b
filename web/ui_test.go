package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

const testPassword = "correct horse battery staple"

func TestUISetupFlow(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		b := e.browser()

		// Nothing exists: every road leads to set-up.
		p, at := b.follow("/")
		if at != "/setup" {
			t.Fatalf("a fresh install led to %s, want /setup", at)
		}
		p.want(t, 200, "setup", "setup-form")

		// A bad password is refused and nothing is created.
		p = b.post("/setup", url.Values{"org": {"Acme"}, "email": {"ana@acme.test"}, "password": {"short"}, "password2": {"short"}})
		p.want(t, 400, "error-password")
		if p.hook("setup-org") != "" && !strings.Contains(p.Body, `value="Acme"`) {
			t.Error("the form lost the organisation name")
		}
		p = b.post("/setup", url.Values{"org": {"Acme"}, "email": {"ana@acme.test"}, "password": {testPassword}, "password2": {testPassword + "x"}})
		p.want(t, 400, "error-password2")
		if n, _ := account.CountOrgs(context.Background(), db.Q()); n != 0 {
			t.Fatalf("refused set-up left %d orgs", n)
		}

		p = b.post("/setup", url.Values{"org": {"Acme"}, "email": {"Ana@Acme.test"}, "password": {testPassword}, "password2": {testPassword}})
		if p.Status != 303 || p.Location != "/account/totp?setup=1" {
			t.Fatalf("set-up: %d to %q, want 303 to TOTP enrolment\n%s", p.Status, p.Location, excerpt(p.Body))
		}
		if b.cookie() == "" {
			t.Fatal("set-up did not log the owner in")
		}
		p = b.get("/account/totp?setup=1")
		p.want(t, 200, "setup-done", "totp-begin", "totp-skip")

		p = b.get("/")
		p.want(t, 200, "readiness", "readiness-chart", "category-chart", "next-steps")
		if got := p.hook("readiness-overall"); got != "0%" {
			t.Errorf("fresh readiness %q, want 0%%", got)
		}
		if got := p.hook("whoami"); got != "ana@acme.test" {
			t.Errorf("whoami %q", got)
		}
		lib, _ := control.Library()
		if !strings.Contains(p.Body, `data-test-id="count-not_started"><span class="n">`+strconv.Itoa(len(lib))+`</span>`) {
			t.Errorf("dashboard does not count %d controls not started", len(lib))
		}

		// One transaction wrote the org, its owner, the password and the
		// library, and the audit log says so.
		org, err := account.OrgByName(context.Background(), db.Q(), "Acme")
		if err != nil {
			t.Fatal(err)
		}
		entries, _, err := auditlog.List(context.Background(), db.Q(), org.ID, auditlog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range entries {
			actions = append(actions, en.Action)
		}
		for _, want := range []string{"org.create", "member.add", "user.password", "control.seed"} {
			if !strings.Contains(strings.Join(actions, " "), want) {
				t.Errorf("audit log %v lacks %s", actions, want)
			}
		}

		// The owner's password is the one they chose; they are not asked
		// to change it.
		u, err := account.CheckLogin(context.Background(), db, "ana@acme.test", testPassword)
		if err != nil || u.MustChangePassword {
			t.Fatalf("owner login: %v, must change %v", err, u.MustChangePassword)
		}

		// Set-up closes once it is done.
		other := e.browser()
		if p := other.get("/setup"); p.Status != 303 || p.Location != "/login" {
			t.Errorf("GET /setup after set-up: %d %q", p.Status, p.Location)
		}
		p = other.post("/setup", url.Values{"org": {"Evil"}, "email": {"eve@evil.test"}, "password": {testPassword}, "password2": {testPassword}})
		p.want(t, 404, "error")
		if n, _ := account.CountOrgs(context.Background(), db.Q()); n != 1 {
			t.Fatalf("%d orgs after a second set-up", n)
		}
	})
}

func TestUILoginWithTOTP(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()

		// Unknown email and wrong password get the same answer.
		p1 := b.post("/login", url.Values{"email": {"nobody@acme.test"}, "password": {testPassword}})
		p2 := b.post("/login", url.Values{"email": {"ana@acme.test"}, "password": {"wrong password!"}})
		p1.want(t, 401, "login-error")
		p2.want(t, 401, "login-error")
		if p1.hook("login-error") != p2.hook("login-error") {
			t.Errorf("unknown email says %q, wrong password says %q", p1.hook("login-error"), p2.hook("login-error"))
		}

		// Enrol an authenticator.
		b.login("ana@acme.test", testPassword)
		p := b.submit("/account/totp", "/account/totp/begin", url.Values{})
		p.want(t, 200, "totp-qr", "totp-secret", "totp-confirm-form")
		if !strings.Contains(p.Body, `src="data:image/png;base64,`) {
			t.Error("the QR code is not a data: PNG")
		}
		secret := p.hook("totp-secret")
		p = b.submit("/account/totp", "/account/totp/confirm", url.Values{"code": {"000000"}})
		p.want(t, 400, "error-code")
		code, _ := totp.GenerateCode(secret, time.Now())
		p = b.submit("/account/totp", "/account/totp/confirm", url.Values{"code": {code}})
		if p.Status != 303 {
			t.Fatalf("confirm: %d\n%s", p.Status, excerpt(p.Body))
		}
		b.get("/account/totp").want(t, 200, "totp-enabled")
		b.submit("/", "/logout", url.Values{})

		// Logging in now stops at the second factor.
		b = e.browser()
		p = b.post("/login", url.Values{"email": {"ana@acme.test"}, "password": {testPassword}, "next": {"/controls"}})
		if p.Status != 303 || !strings.HasPrefix(p.Location, "/login/totp") {
			t.Fatalf("login with TOTP: %d to %q", p.Status, p.Location)
		}
		pending := b.cookie()
		if _, at := b.follow("/"); !strings.HasPrefix(at, "/login/totp") {
			t.Fatalf("a half-logged-in session reached %s", at)
		}
		p = b.get(p.Location)
		p.want(t, 200, "login-totp", "totp-code")
		if p.hasHook("whoami") {
			t.Error("the TOTP page shows the user as logged in")
		}
		p = b.submit("/login/totp?next=/controls", "/login/totp", url.Values{"code": {"123456"}, "next": {"/controls"}})
		p.want(t, 400, "error-code")
		code, _ = totp.GenerateCode(secret, time.Now())
		p = b.submit("/login/totp?next=/controls", "/login/totp", url.Values{"code": {code}, "next": {"/controls"}})
		if p.Status != 303 || p.Location != "/controls" {
			t.Fatalf("TOTP: %d to %q\n%s", p.Status, p.Location, excerpt(p.Body))
		}
		if full := b.cookie(); full == "" || full == pending {
			t.Fatal("the session secret was not rotated when the second factor was done")
		}
		b.get("/controls").want(t, 200, "controls-table")

		// The cookie from before the second factor is worth nothing now.
		stale := e.browser()
		u, _ := url.Parse(e.ts.URL)
		stale.client.Jar.SetCookies(u, []*http.Cookie{{Name: e.srv.sessionCookieName(), Value: pending}})
		if _, at := stale.follow("/controls"); !strings.HasPrefix(at, "/login") || strings.HasPrefix(at, "/login/totp") {
			t.Errorf("the pre-TOTP cookie reached %s", at)
		}

		// Every login starts a new session.
		again := e.browser()
		again.login("ana@acme.test", testPassword)
		first := again.cookie()
		again.login("ana@acme.test", testPassword)
		if again.cookie() == first {
			t.Error("a second login kept the session id")
		}
	})
}

func TestUICancelAtTOTP(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		p := b.submit("/account/totp", "/account/totp/begin", url.Values{})
		code, _ := totp.GenerateCode(p.hook("totp-secret"), time.Now())
		b.submit("/account/totp", "/account/totp/confirm", url.Values{"code": {code}})

		// A half-finished login can be abandoned, and then opens nothing.
		quitter := e.browser()
		quitter.login("ana@acme.test", testPassword)
		quitter.get("/login/totp").want(t, 200, "totp-cancel")
		if p := quitter.submit("/login/totp", "/logout", url.Values{}); p.Status != 303 || quitter.cookie() != "" {
			t.Errorf("cancel at the TOTP step: %d, cookie %q", p.Status, quitter.cookie())
		}
		if _, at := quitter.follow("/login/totp"); !strings.HasPrefix(at, "/login?") {
			t.Errorf("after cancelling, /login/totp led to %s", at)
		}
	})
}

func TestUILockout(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		var p page
		for i := range account.MaxFailedLogins {
			p = b.post("/login", url.Values{"email": {"ana@acme.test"}, "password": {"not the password " + strconv.Itoa(i)}})
		}
		p.want(t, 429, "login-error")
		// Now even the right password is refused.
		p = b.post("/login", url.Values{"email": {"ana@acme.test"}, "password": {testPassword}})
		p.want(t, 429, "login-error")
		if !strings.Contains(p.hook("login-error"), "15 minutes") {
			t.Errorf("lockout message %q", p.hook("login-error"))
		}
		if b.cookie() != "" {
			t.Error("a locked account got a session")
		}
	})
}

func TestUILoginRateLimit(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		var p page
		for range 11 {
			p = b.post("/login", url.Values{"email": {"someone@acme.test"}, "password": {"whatever it is"}})
		}
		p.want(t, 429, "login-error")
	})
}

func TestUICSRF(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		ct := e.controlByCode(org, "AC-02")
		for _, token := range []string{"", "forged"} {
			form := url.Values{"status": {"implemented"}}
			if token != "" {
				form.Set("csrf", token)
			}
			p := b.post("/controls/"+ct.ID, form)
			p.want(t, 403, "error")
		}
		if got := e.controlByCode(org, "AC-02"); got.Status != control.StatusNotStarted {
			t.Fatalf("a POST without the CSRF token changed the control to %s", got.Status)
		}
		b.post("/logout", url.Values{}).want(t, 403)
		b.get("/").want(t, 200, "readiness")
		// With the token it works.
		p := b.submit("/controls/"+ct.ID, "/controls/"+ct.ID, url.Values{"status": {"implemented"}})
		if p.Status != 303 {
			t.Fatalf("with token: %d\n%s", p.Status, excerpt(p.Body))
		}
	})
}

func TestUIMustChangePassword(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		_, once := e.addUser(org, "bo@acme.test", attest.RoleMember, "")
		b := e.browser()
		b.login("bo@acme.test", once)
		for _, path := range []string{"/", "/controls", "/account/totp"} {
			if p := b.get(path); p.Status != 303 || p.Location != "/account/password" {
				t.Fatalf("GET %s with a one-time password: %d to %q", path, p.Status, p.Location)
			}
		}
		p := b.get("/account/password")
		p.want(t, 200, "password-forced", "password-form")

		p = b.submit("/account/password", "/account/password", url.Values{"current": {"wrong"}, "password": {testPassword}, "password2": {testPassword}})
		p.want(t, 400, "error-current")
		p = b.submit("/account/password", "/account/password", url.Values{"current": {once}, "password": {testPassword}, "password2": {"different!!!!"}})
		p.want(t, 400, "error-password2")
		p = b.submit("/account/password", "/account/password", url.Values{"current": {once}, "password": {testPassword}, "password2": {testPassword}})
		if p.Status != 303 {
			t.Fatalf("change password: %d\n%s", p.Status, excerpt(p.Body))
		}
		b.get("/").want(t, 200, "readiness")
		b.submit("/", "/logout", url.Values{})
		b.login("bo@acme.test", testPassword)
		b.get("/").want(t, 200, "readiness")
	})
}

func TestUIRequiredTOTPComesFirst(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		p := b.submit("/settings", "/settings", url.Values{"scope": {"availability", "confidentiality"}, "require_totp": {"on"}})
		if p.Status != 303 {
			t.Fatalf("settings: %d\n%s", p.Status, excerpt(p.Body))
		}
		// The owner has no authenticator, so nothing else opens now.
		if p := b.get("/controls"); p.Status != 303 || p.Location != "/account/totp" {
			t.Fatalf("GET /controls: %d %q", p.Status, p.Location)
		}
		p = b.get("/account/totp")
		p.want(t, 200, "totp-required", "totp-begin")
		if p.hasHook("totp-skip") {
			t.Error("a required authenticator can be skipped")
		}
		o, _ := account.OrgByName(context.Background(), db.Q(), "Acme")
		if strings.Join(o.Scope, ",") != "security,availability,confidentiality" || !o.RequireTOTP {
			t.Errorf("settings saved as %v, require TOTP %v", o.Scope, o.RequireTOTP)
		}
	})
}

// overall reads the overall readiness the dashboard shows.
func overall(t *testing.T, b *browser) string {
	t.Helper()
	p := b.get("/")
	p.want(t, 200, "readiness-overall")
	return p.hook("readiness-overall")
}

func TestUIControlUpdateChangesReadiness(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, owner := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		before := overall(t, b)
		rdBefore, _ := e.srv.readiness(context.Background(), org)

		ct := e.controlByCode(org, "AC-02")
		p := b.get("/controls/" + ct.ID)
		p.want(t, 200, "control-form", "control-criteria", "evidence")
		p = b.submit("/controls/"+ct.ID, "/controls/"+ct.ID, url.Values{"status": {"implemented"}, "owner": {owner}})
		if p.Status != 303 {
			t.Fatalf("update: %d\n%s", p.Status, excerpt(p.Body))
		}
		p = b.get(p.Location)
		p.want(t, 200, "flash")
		if got := p.hook("control-status"); got != "Implemented" {
			t.Errorf("status shows %q", got)
		}
		if got := p.hook("control-owner"); got != "ana@acme.test" {
			t.Errorf("owner shows %q", got)
		}
		after := overall(t, b)
		rdAfter, _ := e.srv.readiness(context.Background(), org)
		if !(rdAfter.Overall > rdBefore.Overall) || after == before {
			t.Fatalf("readiness did not rise: %q (%f) -> %q (%f)", before, rdBefore.Overall, after, rdAfter.Overall)
		}
		// The criterion page explains it.
		p = b.get("/criteria/CC6.6")
		p.want(t, 200, "criterion-score", "criterion-reason", "criterion-controls")
		if !strings.Contains(p.hook("criterion-reason"), "AC-02") {
			t.Errorf("CC6.6 reason %q does not name AC-02", p.hook("criterion-reason"))
		}
		b.get("/criteria").want(t, 200, "criterion-CC6.6", "category-security")
	})
}

func TestUINotApplicableNeedsJustification(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		ct := e.controlByCode(org, "AC-01")
		head := auditHead(t, db, org)

		p := b.submit("/controls/"+ct.ID, "/controls/"+ct.ID, url.Values{"status": {"not_applicable"}, "justification": {"  "}})
		p.want(t, 400, "error-justification")
		if !strings.Contains(p.Body, `<option value="not_applicable" selected>`) {
			t.Error("the form did not keep the chosen status")
		}
		if got := e.controlByCode(org, "AC-01"); got.Status != control.StatusNotStarted || got.Justification != "" {
			t.Fatalf("the refused change was written: %s %q", got.Status, got.Justification)
		}
		if auditHead(t, db, org) != head {
			t.Fatal("the refused change reached the audit log")
		}

		p = b.submit("/controls/"+ct.ID, "/controls/"+ct.ID, url.Values{"status": {"not_applicable"}, "justification": {"We have no business applications beyond email."}})
		if p.Status != 303 {
			t.Fatalf("with justification: %d\n%s", p.Status, excerpt(p.Body))
		}
		b.get("/controls/"+ct.ID).want(t, 200, "control-justification")
	})
}

func auditHead(t *testing.T, db *store.DB, org attest.OrgID) int64 {
	t.Helper()
	es, _, err := auditlog.List(context.Background(), db.Q(), org, auditlog.Filter{Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("audit head: %v", err)
	}
	return es[0].Seq
}

func addNote(t *testing.T, db *store.DB, org attest.OrgID, controlID, text string) evidence.Item {
	t.Helper()
	ctx := context.Background()
	var it evidence.Item
	err := db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
		var err error
		it, err = evidence.AddNote(ctx, tx, org, controlID, evidence.Meta{Title: "MFA report", Note: text})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestUIViewerSeesNoEvidence(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		e.addUser(org, "vic@acme.test", attest.RoleViewer, testPassword)
		e.addUser(org, "aud@acme.test", attest.RoleAuditor, testPassword)
		ct := e.controlByCode(org, "AC-02")
		it := addNote(t, db, org, ct.ID, "All 14 accounts have MFA on.")

		viewer := e.browser()
		viewer.login("vic@acme.test", testPassword)
		p := viewer.get("/controls/" + ct.ID)
		p.want(t, 200, "control-title")
		if p.hasHook("evidence") || p.hasHook("evidence-row") || strings.Contains(p.Body, it.SHA256[:12]) || strings.Contains(p.Body, "MFA report") {
			t.Fatal("a viewer sees evidence")
		}
		if p.hasHook("control-form") {
			t.Error("a viewer sees the control form")
		}
		viewer.get("/evidence/"+it.ID+"/download").want(t, 403, "error")
		p = viewer.get("/controls")
		p.want(t, 200, "controls-table")
		if strings.Contains(p.Body, `<th scope="col">Evidence</th>`) || p.hasHook("bulk-form") && p.hasHook("bulk-submit") {
			t.Error("a viewer sees evidence freshness or the bulk form")
		}

		auditor := e.browser()
		auditor.login("aud@acme.test", testPassword)
		p = auditor.get("/controls/" + ct.ID)
		p.want(t, 200, "evidence", "evidence-row", "evidence-sha256")
		if p.hasHook("control-form") || p.hasHook("upload-form") {
			t.Error("an auditor sees forms that change things")
		}
		p = auditor.get("/evidence/" + it.ID + "/download")
		if p.Status != 200 || p.Body != "All 14 accounts have MFA on." {
			t.Fatalf("auditor download: %d %q", p.Status, p.Body)
		}
	})
}

func TestUIEvidenceUploadAndNote(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		ct := e.controlByCode(org, "AC-02")
		path := "/controls/" + ct.ID
		token := b.csrf(path)

		upload := func(token string, content []byte) page {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("title", "IdP MFA export")
			mw.WriteField("effective_at", time.Now().UTC().Format("2006-01-02"))
			fw, _ := mw.CreateFormFile("file", "mfa.csv")
			fw.Write(content)
			mw.Close()
			req, _ := http.NewRequest("POST", e.ts.URL+path+"/evidence?csrf="+url.QueryEscape(token), &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return b.do(req)
		}
		content := []byte("user,mfa\nana,on\n")
		upload("forged", content).want(t, 403)
		p := upload(token, content)
		if p.Status != 303 {
			t.Fatalf("upload: %d\n%s", p.Status, excerpt(p.Body))
		}
		p = upload(token, bytes.Repeat([]byte("x"), 2<<20))
		p.want(t, 413, "upload-error")

		p = b.submit(path, path+"/notes", url.Values{"title": {"Checked"}, "note": {""}})
		p.want(t, 400, "note-error-note")
		p = b.submit(path, path+"/notes", url.Values{"title": {"Checked"}, "note": {"Looked at the IdP."}, "effective_at": {"2999-01-01"}})
		p.want(t, 400, "note-error-effective")
		p = b.submit(path, path+"/notes", url.Values{"title": {"Checked"}, "note": {"Looked at the IdP."}})
		if p.Status != 303 {
			t.Fatalf("note: %d\n%s", p.Status, excerpt(p.Body))
		}

		p = b.get(path)
		p.want(t, 200, "evidence-table", "evidence-download")
		if n := strings.Count(p.Body, `data-test-id="evidence-row"`); n != 2 {
			t.Fatalf("%d evidence rows, want 2", n)
		}
		sum := sha256.Sum256(content)
		if !strings.Contains(p.Body, `title="`+hex.EncodeToString(sum[:])+`"`) {
			t.Error("the page does not show the file's SHA-256")
		}
		link := regexp.MustCompile(`href="(/evidence/[^"]+/download)"`).FindAllStringSubmatch(p.Body, -1)
		var got []string
		for _, l := range link {
			got = append(got, b.get(l[1]).Body)
		}
		if !strings.Contains(strings.Join(got, "|"), string(content)) {
			t.Errorf("downloads %q do not hold the uploaded file", got)
		}
	})
}

func TestUIBulkAssign(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		bo, _ := e.addUser(org, "bo@acme.test", attest.RoleMember, testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		p := b.get("/controls?q=AC-0")
		p.want(t, 200, "bulk-form", "bulk-owner", "select-AC-01")
		a, c2, c3 := e.controlByCode(org, "AC-01"), e.controlByCode(org, "AC-02"), e.controlByCode(org, "AC-03")

		// One unknown id: nothing changes.
		p = b.submit("/controls", "/controls/assign", url.Values{"id": {a.ID, "ctl_nope"}, "owner": {bo}})
		p.want(t, 404)
		if e.controlByCode(org, "AC-01").OwnerID != "" {
			t.Fatal("a failed bulk assignment changed a control")
		}
		p = b.submit("/controls", "/controls/assign", url.Values{"owner": {bo}, "back": {"q=AC-0"}})
		p.want(t, 400, "form-error")

		p = b.submit("/controls", "/controls/assign", url.Values{"id": {a.ID, c2.ID, c3.ID}, "owner": {bo}, "back": {"q=AC-0"}})
		if p.Status != 303 || !strings.Contains(p.Location, "q=AC-0") {
			t.Fatalf("assign: %d %q\n%s", p.Status, p.Location, excerpt(p.Body))
		}
		for _, code := range []string{"AC-01", "AC-02", "AC-03"} {
			if got := e.controlByCode(org, code); got.OwnerEmail != "bo@acme.test" {
				t.Errorf("%s owner %q", code, got.OwnerEmail)
			}
		}
		p = b.get("/controls?owner=" + bo)
		p.want(t, 200, "controls-table")
		if n := strings.Count(p.Body, `data-test-id="control-row"`); n != 3 {
			t.Errorf("owner filter shows %d rows, want 3", n)
		}
		p = b.get("/controls?status=bogus")
		p.want(t, 400, "error")
	})
}

func TestUIMembers(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		p := b.submit("/members", "/members", url.Values{"email": {"cy@acme.test"}, "role": {"member"}})
		p.want(t, 200, "new-member", "one-time-password")
		once := p.hook("one-time-password")
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Error("the page with a password may be cached")
		}
		if b.get("/members").hasHook("one-time-password") {
			t.Error("the one-time password is shown again")
		}
		p = b.submit("/members", "/members", url.Values{"email": {"cy@acme.test"}, "role": {"member"}})
		p.want(t, 400, "form-error")

		id, err := account.UserByEmail(context.Background(), db.Q(), "cy@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		p = b.submit("/members", "/members/"+id.ID+"/role", url.Values{"role": {"admin"}})
		if p.Status != 303 {
			t.Fatalf("role: %d\n%s", p.Status, excerpt(p.Body))
		}
		if role, _ := account.Membership(context.Background(), db.Q(), org, id.ID); role != attest.RoleAdmin {
			t.Errorf("role %s", role)
		}
		// The new admin logs in with the one-time password, changes it,
		// and cannot make anyone an owner.
		cy := e.browser()
		cy.login("cy@acme.test", once)
		cy.submit("/account/password", "/account/password", url.Values{"current": {once}, "password": {testPassword}, "password2": {testPassword}})
		p = cy.get("/members")
		p.want(t, 200, "add-member-form")
		if strings.Contains(p.Body, `<option value="owner"`) {
			t.Error("an admin is offered the owner role")
		}
		cy.submit("/members", "/members", url.Values{"email": {"dee@acme.test"}, "role": {"owner"}}).want(t, 403)

		p = b.get("/audit-log")
		p.want(t, 200, "audit-table", "audit-entry", "audit-hash")
		if !strings.Contains(p.Body, "member.role") {
			t.Error("the audit log does not show the role change")
		}
	})
}

func TestUIAuditLogPaging(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		b.login("ana@acme.test", testPassword)
		p := b.get("/audit-log?limit=2")
		p.want(t, 200, "audit-older")
		if n := strings.Count(p.Body, `data-test-id="audit-entry"`); n != 2 {
			t.Fatalf("%d entries, want 2", n)
		}
		next := regexp.MustCompile(`href="(/audit-log\?cursor=\d+)"`).FindStringSubmatch(p.Body)
		if next == nil {
			t.Fatal("no link to older entries")
		}
		p = b.get(next[1])
		p.want(t, 200, "audit-entry")
		b.get("/audit-log?cursor=x").want(t, 400, "error")
	})
}

func TestUINotFoundAndErrors(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "ana@acme.test", testPassword)
		b := e.browser()
		// Strangers are asked to log in rather than told what exists.
		if p := b.get("/no/such/page"); p.Status != 303 || !strings.HasPrefix(p.Location, "/login") {
			t.Errorf("unknown page, logged out: %d %q", p.Status, p.Location)
		}
		p := b.get("/api/v1/no-such-route")
		if p.Status != 404 || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("unknown API route: %d %s", p.Status, p.Header.Get("Content-Type"))
		}
		if p := b.get("/controls"); p.Status != 303 || p.Location != "/login?next=%2Fcontrols" {
			t.Errorf("logged out: %d %q", p.Status, p.Location)
		}
		b.login("ana@acme.test", testPassword)
		p = b.get("/no/such/page")
		p.want(t, 404, "error", "error-status", "whoami")
		if !strings.Contains(p.Body, `href="/static/attest.css"`) {
			t.Error("the 404 page does not look like the product")
		}
		b.get("/controls/ctl_unknown").want(t, 404, "error", "whoami")
		b.get("/criteria/XX9.9").want(t, 404, "error")

		// Another org's control answers like an unknown one.
		other := e.browser()
		e.seedOrg("Beta", "bea@beta.test", testPassword)
		other.login("bea@beta.test", testPassword)
		ct := e.controlByCode(org, "AC-01")
		other.get("/controls/"+ct.ID).want(t, 404, "error")
		other.submit("/", "/controls/"+ct.ID, url.Values{"status": {"implemented"}}).want(t, 404)
		if e.controlByCode(org, "AC-01").Status != control.StatusNotStarted {
			t.Fatal("another org changed a control")
		}

		// The login page refuses to send people off-site.
		p = b.post("/login", url.Values{"email": {"ana@acme.test"}, "password": {testPassword}, "next": {"//evil.test/x"}})
		if p.Location != "/" {
			t.Errorf("next=//evil.test led to %q", p.Location)
		}
	})
}
