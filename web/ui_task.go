package web

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

// taskSection marks the navigation entry of the calendar pages.
const taskSection = "tasks"

// taskPages are the calendar, task detail with complete and skip forms,
// recurring duties and the notification settings with the delivery log.
func (s *Server) taskPages() []Route {
	g := s.gated
	return []Route{
		{Method: "GET", Pattern: "/tasks", Action: ActTaskRead, Summary: "Your tasks, then the calendar of upcoming and overdue work", handle: g(s.tasksPage)},
		{Method: "POST", Pattern: "/tasks", Action: ActTaskManage, Summary: "Add a one-off task", handle: g(s.taskAdd)},
		{Method: "GET", Pattern: "/tasks/{id}", Action: ActTaskRead, Summary: "One task", handle: g(s.taskPage)},
		{Method: "POST", Pattern: "/tasks/{id}/complete", Action: ActTaskComplete, Summary: "Mark a task done", handle: g(s.taskComplete)},
		{Method: "POST", Pattern: "/tasks/{id}/skip", Action: ActTaskComplete, Summary: "Skip a task with a reason", handle: g(s.taskSkip)},
		{Method: "GET", Pattern: "/task-rules", Action: ActTaskRead, Summary: "Recurring duties", handle: g(s.rulesPage)},
		{Method: "POST", Pattern: "/task-rules", Action: ActTaskManage, Summary: "Add a recurring duty", handle: g(s.ruleAdd)},
		{Method: "POST", Pattern: "/task-rules/defaults", Action: ActTaskManage, Summary: "Add the default duties", handle: g(s.rulesSeed)},
		{Method: "GET", Pattern: "/task-rules/{id}", Action: ActTaskRead, Summary: "One recurring duty", handle: g(s.rulePage)},
		{Method: "POST", Pattern: "/task-rules/{id}", Action: ActTaskManage, Summary: "Change a recurring duty", handle: g(s.ruleUpdate)},
		{Method: "GET", Pattern: "/notifications", Action: ActTaskRead, Summary: "Delivery log and notification channels", handle: g(s.notificationsPage)},
		{Method: "POST", Pattern: "/notifications/channels", Action: ActTaskManage, Summary: "Add a webhook channel", handle: g(s.channelAdd)},
		{Method: "POST", Pattern: "/notifications/channels/{id}", Action: ActTaskManage, Summary: "Enable, disable or remove a channel", handle: g(s.channelUpdate)},
		{Method: "POST", Pattern: "/notifications/channels/{id}/test", Action: ActTaskManage, Summary: "Send a test message to a channel", handle: g(s.channelTest)},
		{Method: "POST", Pattern: "/notifications/deliveries/{id}/retry", Action: ActTaskManage, Summary: "Send a failed delivery again", handle: g(s.deliveryRetry)},
	}
}

// tasksFilter is the calendar's filter as the form holds it.
type tasksFilter struct {
	Owner, Status, Overdue, Control string
}

type monthGroup struct {
	Label string
	Tasks []taskRow
}

// taskRow is a task with its due date said relative to today.
type taskRow struct {
	task.Task
	When string
}

func rowsOf(ts []task.Task, now time.Time) []taskRow {
	out := make([]taskRow, len(ts))
	for i, t := range ts {
		out[i] = taskRow{Task: t, When: dueIn(t, now)}
	}
	return out
}

type tasksPageData struct {
	Mine         []taskRow
	MineOverdue  int
	Filter       tasksFilter
	Months       []monthGroup
	Count        int
	More         string // cursor of the next page
	Overdue      []task.OwnerCount
	OverdueTotal int
	Chart        template.HTML
	Members      []account.Member
	Statuses     []task.Status
	Errors       formErrors
	Form         taskForm
	Today        string
}

type taskForm struct{ Title, Description, Owner, Due, Controls string }

func (s *Server) tasksPageFor(ctx context.Context, c *call, q url.Values) (tasksPageData, error) {
	now := s.db.Now()
	p := tasksPageData{Filter: tasksFilter{Owner: q.Get("owner"), Status: q.Get("status"), Overdue: q.Get("overdue"), Control: q.Get("control")},
		Statuses: []task.Status{task.StatusOpen, task.StatusDone, task.StatusSkipped}, Today: task.Day(now).Format(task.DateLayout)}
	if q.Get("status") == "" && len(q) == 0 {
		p.Filter.Status = string(task.StatusOpen) // the calendar shows what is still to do
	}
	var err error
	if p.Members, err = account.Members(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	if c.Actor.UserID != "" {
		mine, _, err := task.List(ctx, s.db.Q(), c.Actor.OrgID, task.Filter{OwnerID: c.Actor.UserID, Status: task.StatusOpen, Limit: 50}, now)
		if err != nil {
			return p, err
		}
		p.Mine = rowsOf(mine, now)
		for _, t := range mine {
			if t.Overdue {
				p.MineOverdue++
			}
		}
	}
	if p.Overdue, err = task.OverdueByOwner(ctx, s.db.Q(), c.Actor.OrgID, now); err != nil {
		return p, err
	}
	for _, o := range p.Overdue {
		p.OverdueTotal += o.Count
	}
	p.Chart = overdueChart(p.Overdue)
	fq := url.Values{"owner": {p.Filter.Owner}, "status": {p.Filter.Status}, "overdue": {p.Filter.Overdue},
		"control": {p.Filter.Control}, "cursor": {q.Get("cursor")}}
	if p.Filter.Status == "all" {
		fq.Del("status")
	}
	f, err := s.taskFilterFrom(ctx, c, fq)
	if err != nil {
		// A bad filter shows the calendar unfiltered with the complaint.
		errs, _, ok := formError(err)
		if !ok {
			return p, err
		}
		p.Errors, f = errs, task.Filter{Status: task.StatusOpen}
	}
	ts, next, err := task.List(ctx, s.db.Q(), c.Actor.OrgID, f, now)
	if err != nil {
		return p, err
	}
	p.Count, p.More = len(ts), next
	for _, t := range rowsOf(ts, now) {
		label := t.DueOn.Format("January 2006")
		if n := len(p.Months); n == 0 || p.Months[n-1].Label != label {
			p.Months = append(p.Months, monthGroup{Label: label})
		}
		p.Months[len(p.Months)-1].Tasks = append(p.Months[len(p.Months)-1].Tasks, t)
	}
	return p, nil
}

func (s *Server) tasksPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.tasksPageFor(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if p.Errors != nil {
		status = http.StatusBadRequest
	}
	return s.show(w, r, c, status, "task_list.html", "Tasks", taskSection, p)
}

// splitRefs reads a list of control codes typed into one field.
func splitRefs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (s *Server) taskAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	form := taskForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Owner: r.PostFormValue("owner_id"),
		Due: r.PostFormValue("due_on"), Controls: r.PostFormValue("controls")}
	var t task.Task
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		t, err = task.Create(r.Context(), tx, c.Actor.OrgID, task.Input{Title: form.Title, Description: form.Description,
			OwnerID: form.Owner, DueOn: form.Due, Controls: splitRefs(form.Controls)})
		return err
	})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.tasksPageFor(r.Context(), c, url.Values{})
		if perr != nil {
			return perr
		}
		p.Errors, p.Form = errs, form
		return s.show(w, r, c, status, "task_list.html", "Tasks", taskSection, p)
	}
	return redirect(w, r, "/tasks/"+url.PathEscape(t.ID)+"?done=saved")
}

type taskPageData struct {
	Task       task.Task
	When       string
	Rule       *task.Rule
	Deliveries []notify.Delivery
	Errors     formErrors
	Note       string
	Reason     string
}

func (s *Server) taskPageFor(ctx context.Context, c *call, id string) (taskPageData, error) {
	now := s.db.Now()
	t, err := task.Get(ctx, s.db.Q(), c.Actor.OrgID, id, now)
	if err != nil {
		return taskPageData{}, err
	}
	p := taskPageData{Task: t, When: dueIn(t, now)}
	if t.RuleID != "" {
		if rl, err := task.GetRule(ctx, s.db.Q(), c.Actor.OrgID, t.RuleID, now); err == nil {
			p.Rule = &rl
		}
	}
	if p.Deliveries, _, err = notify.ListDeliveries(ctx, s.db.Q(), c.Actor.OrgID, notify.Filter{TaskID: t.ID, Limit: 50}); err != nil {
		return p, err
	}
	return p, nil
}

func (s *Server) taskPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.taskPageFor(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "task_detail.html", p.Task.Title, taskSection, p)
}

func (s *Server) taskResolve(w http.ResponseWriter, r *http.Request, c *call, in taskPatch) error {
	id := r.PathValue("id")
	if _, err := s.resolveTask(r.Context(), c, id, in); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.taskPageFor(r.Context(), c, id)
		if perr != nil {
			return perr
		}
		p.Errors, p.Note, p.Reason = errs, in.Note, in.Reason
		return s.show(w, r, c, status, "task_detail.html", p.Task.Title, taskSection, p)
	}
	return redirect(w, r, "/tasks/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) taskComplete(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.taskResolve(w, r, c, taskPatch{Status: string(task.StatusDone), Note: r.PostFormValue("note")})
}

func (s *Server) taskSkip(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.taskResolve(w, r, c, taskPatch{Status: string(task.StatusSkipped), Reason: r.PostFormValue("reason")})
}

type rulesPageData struct {
	Rules    []task.Rule
	Members  []account.Member
	Cadences []task.Cadence
	Errors   formErrors
	Form     ruleForm
	Seeded   int
	Missing  int // defaults the org does not have
}

type ruleForm struct{ Title, Description, Cadence, Start, Owner, Controls string }

func (s *Server) rulesPageFor(ctx context.Context, c *call) (rulesPageData, error) {
	p := rulesPageData{Cadences: task.Cadences, Form: ruleForm{Cadence: string(task.Yearly), Start: task.Day(s.db.Now()).AddDate(0, 1, 0).Format(task.DateLayout)}}
	var err error
	if p.Rules, err = task.ListRules(ctx, s.db.Q(), c.Actor.OrgID, s.db.Now()); err != nil {
		return p, err
	}
	if p.Members, err = account.Members(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	have := map[string]bool{}
	for _, rl := range p.Rules {
		have[rl.SeedKey] = true
	}
	for _, d := range task.Defaults {
		if !have[d.Key] {
			p.Missing++
		}
	}
	return p, nil
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.rulesPageFor(r.Context(), c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "task_rules.html", "Recurring duties", taskSection, p)
}

func (f ruleForm) input() task.RuleInput {
	ctl := splitRefs(f.Controls)
	return task.RuleInput{Title: &f.Title, Description: &f.Description, Cadence: &f.Cadence, StartOn: &f.Start, OwnerID: &f.Owner, Controls: &ctl}
}

func ruleFormFrom(r *http.Request) ruleForm {
	return ruleForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Cadence: r.PostFormValue("cadence"),
		Start: r.PostFormValue("start_on"), Owner: r.PostFormValue("owner_id"), Controls: r.PostFormValue("controls")}
}

func (s *Server) ruleAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	form := ruleFormFrom(r)
	var rl task.Rule
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		rl, err = task.CreateRule(r.Context(), tx, c.Actor.OrgID, form.input())
		return err
	})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.rulesPageFor(r.Context(), c)
		if perr != nil {
			return perr
		}
		p.Errors, p.Form = errs, form
		return s.show(w, r, c, status, "task_rules.html", "Recurring duties", taskSection, p)
	}
	return redirect(w, r, "/task-rules/"+url.PathEscape(rl.ID)+"?done=saved")
}

func (s *Server) rulesSeed(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.seedDefaults(r.Context(), c, r.PostFormValue("owner_id")); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.rulesPageFor(r.Context(), c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "task_rules.html", "Recurring duties", taskSection, p)
	}
	return redirect(w, r, "/task-rules?done=saved")
}

type rulePageData struct {
	Rule     task.Rule
	Tasks    []taskRow
	Members  []account.Member
	Cadences []task.Cadence
	Errors   formErrors
	Form     ruleForm
}

func (s *Server) rulePageFor(ctx context.Context, c *call, id string) (rulePageData, error) {
	now := s.db.Now()
	rl, err := task.GetRule(ctx, s.db.Q(), c.Actor.OrgID, id, now)
	if err != nil {
		return rulePageData{}, err
	}
	p := rulePageData{Rule: rl, Cadences: task.Cadences, Form: ruleForm{Title: rl.Title, Description: rl.Description,
		Cadence: string(rl.Cadence), Start: rl.Start, Owner: rl.OwnerID, Controls: strings.Join(rl.ControlCodes, ", ")}}
	ts, _, err := task.List(ctx, s.db.Q(), c.Actor.OrgID, task.Filter{RuleID: id, Limit: 100}, now)
	if err != nil {
		return p, err
	}
	p.Tasks = rowsOf(ts, now)
	if p.Members, err = account.Members(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	return p, nil
}

func (s *Server) rulePage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.rulePageFor(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "task_rule.html", p.Rule.Title, taskSection, p)
}

func (s *Server) ruleUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	form := ruleFormFrom(r)
	in := form.input()
	active := r.PostFormValue("active") == "on"
	in.Active = &active
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := task.UpdateRule(r.Context(), tx, c.Actor.OrgID, id, in)
		return err
	})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.rulePageFor(r.Context(), c, id)
		if perr != nil {
			return perr
		}
		p.Errors, p.Form = errs, form
		return s.show(w, r, c, status, "task_rule.html", p.Rule.Title, taskSection, p)
	}
	return redirect(w, r, "/task-rules/"+url.PathEscape(id)+"?done=saved")
}

type notificationsPageData struct {
	Channels   []notify.Channel
	Deliveries []notify.Delivery
	More       string
	Counts     map[string]int
	Status     string
	Channel    string
	Events     []string
	Errors     formErrors
	Form       channelForm

	StatusOptions  []string
	ChannelOptions []string
}

type channelForm struct{ Kind, Name, URL string }

func (s *Server) notificationsPageFor(ctx context.Context, c *call, q url.Values) (notificationsPageData, error) {
	p := notificationsPageData{Status: q.Get("status"), Channel: q.Get("channel"), Events: notify.Events, Form: channelForm{Kind: notify.ChannelSlack},
		StatusOptions:  []string{notify.StatusQueued, notify.StatusRetrying, notify.StatusSent, notify.StatusFailed},
		ChannelOptions: []string{notify.ChannelEmail, notify.ChannelWebhook, notify.ChannelSlack}}
	var err error
	if Allowed(c.Actor.Role, ActTaskManage) {
		if p.Channels, err = notify.ListChannels(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
			return p, err
		}
	}
	if p.Counts, err = notify.Counts(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	f, err := deliveryFilterFrom(q)
	if err == nil {
		p.Deliveries, p.More, err = notify.ListDeliveries(ctx, s.db.Q(), c.Actor.OrgID, f)
	}
	if err != nil {
		errs, _, ok := formError(err)
		if !ok {
			return p, err
		}
		p.Errors = errs
		p.Deliveries, p.More, err = notify.ListDeliveries(ctx, s.db.Q(), c.Actor.OrgID, notify.Filter{})
	}
	return p, err
}

func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.notificationsPageFor(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if p.Errors != nil {
		status = http.StatusBadRequest
	}
	return s.show(w, r, c, status, "task_notifications.html", "Notifications", taskSection, p)
}

func (s *Server) notificationsError(w http.ResponseWriter, r *http.Request, c *call, err error, form channelForm) error {
	errs, status, ok := formError(err)
	if !ok {
		return err
	}
	p, perr := s.notificationsPageFor(r.Context(), c, url.Values{})
	if perr != nil {
		return perr
	}
	p.Errors = errs
	if form.Kind != "" {
		p.Form = form
	}
	return s.show(w, r, c, status, "task_notifications.html", "Notifications", taskSection, p)
}

func (s *Server) channelAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	form := channelForm{Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"), URL: r.PostFormValue("url")}
	events := r.PostForm["events"]
	in := notify.ChannelInput{Kind: &form.Kind, Name: &form.Name, URL: &form.URL}
	if len(events) > 0 {
		in.Events = &events
	}
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := notify.CreateChannel(r.Context(), tx, s.sealer, c.Actor.OrgID, in)
		return err
	})
	if err != nil {
		form.URL = "" // a secret is not echoed back into the page
		return s.notificationsError(w, r, c, err, form)
	}
	return redirect(w, r, "/notifications?done=saved")
}

func (s *Server) channelUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		switch r.PostFormValue("action") {
		case "delete":
			return notify.DeleteChannel(r.Context(), tx, c.Actor.OrgID, id)
		case "enable", "disable":
			on := r.PostFormValue("action") == "enable"
			_, err := notify.UpdateChannel(r.Context(), tx, s.sealer, c.Actor.OrgID, id, notify.ChannelInput{Enabled: &on})
			return err
		}
		if _, err := notify.GetChannel(r.Context(), tx, c.Actor.OrgID, id); err != nil {
			return err
		}
		return attest.Invalid("action", "must be enable, disable or delete")
	})
	if err != nil {
		return s.notificationsError(w, r, c, err, channelForm{})
	}
	return redirect(w, r, "/notifications?done=saved")
}

func (s *Server) channelTest(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.testChannel(r.Context(), c, r.PathValue("id")); err != nil {
		return s.notificationsError(w, r, c, err, channelForm{})
	}
	return redirect(w, r, "/notifications?done=saved")
}

func (s *Server) deliveryRetry(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := notify.Retry(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
		return err
	})
	if err != nil {
		return s.notificationsError(w, r, c, err, channelForm{})
	}
	return redirect(w, r, "/notifications?done=saved")
}

// overdueChart draws overdue tasks per owner as horizontal bars scaled to
// the largest count, so the page shows at a glance whose work is late.
func overdueChart(rows []task.OwnerCount) template.HTML {
	if len(rows) == 0 {
		return ""
	}
	const labelW, barW, valueW, rowH, barH = 220.0, 300.0, 60.0, 30.0, 16.0
	most := 0
	for _, r := range rows {
		most = max(most, r.Count)
	}
	height := rowH*float64(len(rows)) + 4
	var b strings.Builder
	var desc []string
	for _, r := range rows {
		desc = append(desc, fmt.Sprintf("%s %d", ownerLabel(r), r.Count))
	}
	fmt.Fprintf(&b, `<svg class="chart overdue" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="Overdue tasks by owner: %s" data-test-id="overdue-chart">`,
		labelW+barW+valueW, height, labelW+barW+valueW, height, html.EscapeString(strings.Join(desc, ", ")))
	for i, r := range rows {
		y := float64(i)*rowH + 4
		w := barW * float64(r.Count) / float64(most)
		fmt.Fprintf(&b, `<g data-test-id="overdue-bar" data-owner="%s" data-count="%d">`, html.EscapeString(ownerLabel(r)), r.Count)
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="14" fill="%s">%s</text>`, y+barH-3, colourText, html.EscapeString(ownerLabel(r)))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" rx="3" fill="%s"/>`, labelW, y, barW, barH, colourTrack)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.2f" height="%.0f" rx="3" fill="%s"/>`, labelW, y, w, barH, colourLow)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="14" fill="%s">%d</text></g>`, labelW+barW+10, y+barH-3, colourText, r.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func ownerLabel(r task.OwnerCount) string {
	if r.Email == "" {
		return "no owner"
	}
	return r.Email
}

// dueIn describes a due date relative to today, for the calendar.
func dueIn(t task.Task, now time.Time) string {
	days := int(t.DueOn.Sub(task.Day(now)).Hours() / 24)
	switch {
	case t.Status != task.StatusOpen:
		return ""
	case days < -1:
		return fmt.Sprintf("%d days late", -days)
	case days == -1:
		return "1 day late"
	case days == 0:
		return "due today"
	case days == 1:
		return "due tomorrow"
	}
	return fmt.Sprintf("in %d days", days)
}
