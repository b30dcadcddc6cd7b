package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

// taskRoutes serves the calendar of recurring duties, tasks and reminders (JSON API and pages).
func (s *Server) taskRoutes() []Route {
	api := []Route{
		{Method: "GET", Pattern: "/api/v1/tasks", Action: ActTaskRead, API: true, Summary: "Tasks by due date (filters: owner (a user id, me or none), status, overdue, control, rule, due_from, due_to; cursor, limit)", Response: List[task.Task]{Items: []task.Task{{}}}, handle: s.apiTasks},
		{Method: "POST", Pattern: "/api/v1/tasks", Action: ActTaskManage, API: true, Summary: "Create a one-off task", Request: taskInput{}, Response: task.Task{}, handle: s.apiCreateTask},
		{Method: "GET", Pattern: "/api/v1/tasks/{id}", Action: ActTaskRead, API: true, Summary: "One task", Response: task.Task{}, handle: s.apiTask},
		{Method: "PATCH", Pattern: "/api/v1/tasks/{id}", Action: ActTaskComplete, API: true, Summary: "Complete a task (status done, optional note recorded as evidence for its controls) or skip it (status skipped, reason required)", Request: taskPatch{}, Response: task.Task{}, handle: s.apiPatchTask},
		{Method: "GET", Pattern: "/api/v1/task-rules", Action: ActTaskRead, API: true, Summary: "Recurring duties", Response: List[task.Rule]{Items: []task.Rule{{}}}, handle: s.apiTaskRules},
		{Method: "POST", Pattern: "/api/v1/task-rules", Action: ActTaskManage, API: true, Summary: "Add a recurring duty (cadence weekly, monthly, quarterly, semiannual or yearly; start_on YYYY-MM-DD); its first occurrences are generated at once", Request: ruleInput{}, Response: task.Rule{}, handle: s.apiCreateTaskRule},
		{Method: "POST", Pattern: "/api/v1/task-rules/defaults", Action: ActTaskManage, API: true, Summary: "Add the default duties the organisation does not have yet (policy review, access review, risk assessment, DR test, penetration test, vendor review, training, ...)", Request: defaultsInput{}, Response: List[task.Rule]{Items: []task.Rule{{}}}, handle: s.apiSeedTaskRules},
		{Method: "GET", Pattern: "/api/v1/task-rules/{id}", Action: ActTaskRead, API: true, Summary: "One recurring duty", Response: task.Rule{}, handle: s.apiTaskRule},
		{Method: "PATCH", Pattern: "/api/v1/task-rules/{id}", Action: ActTaskManage, API: true, Summary: "Change a recurring duty; active false stops new occurrences", Request: ruleInput{}, Response: task.Rule{}, handle: s.apiPatchTaskRule},
		{Method: "GET", Pattern: "/api/v1/deliveries", Action: ActTaskRead, API: true, Summary: "Reminder and digest deliveries, newest first (filters: status queued|retrying|sent|failed, channel email|webhook|slack, task; cursor, limit)", Response: List[notify.Delivery]{Items: []notify.Delivery{{}}}, handle: s.apiDeliveries},
		{Method: "GET", Pattern: "/api/v1/deliveries/{id}", Action: ActTaskRead, API: true, Summary: "One delivery", Response: notify.Delivery{}, handle: s.apiDelivery},
		{Method: "POST", Pattern: "/api/v1/deliveries/{id}/retry", Action: ActTaskManage, API: true, Summary: "Send a failed delivery again", Response: notify.Delivery{}, handle: s.apiRetryDelivery},
		{Method: "GET", Pattern: "/api/v1/notification-channels", Action: ActTaskManage, API: true, Summary: "Webhook channels reminders and digests go to (URLs are never shown again)", Response: List[notify.Channel]{Items: []notify.Channel{{Events: []string{}}}}, handle: s.apiChannels},
		{Method: "POST", Pattern: "/api/v1/notification-channels", Action: ActTaskManage, API: true, Summary: "Add a webhook channel: kind webhook (generic JSON) or slack (text and blocks)", Request: channelInput{}, Response: notify.Channel{}, handle: s.apiCreateChannel},
		{Method: "PATCH", Pattern: "/api/v1/notification-channels/{id}", Action: ActTaskManage, API: true, Summary: "Change a channel's name, URL, events or enabled flag", Request: channelInput{}, Response: notify.Channel{}, handle: s.apiPatchChannel},
		{Method: "DELETE", Pattern: "/api/v1/notification-channels/{id}", Action: ActTaskManage, API: true, Summary: "Remove a channel (its deliveries stay on record)", handle: s.apiDeleteChannel},
		{Method: "POST", Pattern: "/api/v1/notification-channels/{id}/test", Action: ActTaskManage, API: true, Summary: "Queue a test message to a channel", Response: notify.Delivery{}, handle: s.apiTestChannel},
	}
	return append(api, s.taskPages()...)
}

// taskFilterFrom reads a task listing filter from a query string. It
// checks that a named owner and control exist, so a typo reads as an
// error rather than as an empty calendar.
func (s *Server) taskFilterFrom(ctx context.Context, c *call, q url.Values) (task.Filter, error) {
	f := task.Filter{RuleID: q.Get("rule"), Cursor: q.Get("cursor")}
	switch owner := q.Get("owner"); owner {
	case "", "none":
		f.OwnerID = owner
	case "me":
		f.OwnerID = c.Actor.UserID
	default:
		if _, err := account.Membership(ctx, s.db.Q(), c.Actor.OrgID, owner); err != nil {
			if attest.KindOf(err) == attest.KindNotFound {
				return f, attest.Invalid("owner", "is not a member of this organisation (use a user id, me or none)")
			}
			return f, err
		}
		f.OwnerID = owner
	}
	if st := q.Get("status"); st != "" {
		v, err := task.ParseStatus(st)
		if err != nil {
			return f, err
		}
		f.Status = v
	}
	if od := q.Get("overdue"); od != "" {
		b, err := strconv.ParseBool(od)
		if err != nil {
			return f, attest.Invalid("overdue", "must be true or false")
		}
		f.Overdue = &b
	}
	if ref := q.Get("control"); ref != "" {
		id, err := s.controlRef(ctx, c.Actor.OrgID, ref)
		if err != nil {
			return f, err
		}
		f.ControlID = id
	}
	if v := q.Get("due_from"); v != "" {
		d, err := task.ParseDate("due_from", v)
		if err != nil {
			return f, err
		}
		f.DueFrom = d
	}
	if v := q.Get("due_to"); v != "" {
		d, err := task.ParseDate("due_to", v)
		if err != nil {
			return f, err
		}
		f.DueTo = d
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return f, attest.Invalid("limit", "must be a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, nil
}

// controlRef resolves a control id or code of the org.
func (s *Server) controlRef(ctx context.Context, org attest.OrgID, ref string) (string, error) {
	if c, err := control.Get(ctx, s.db.Q(), org, ref); err == nil {
		return c.ID, nil
	} else if attest.KindOf(err) != attest.KindNotFound {
		return "", err
	}
	cs, err := control.List(ctx, s.db.Q(), org, control.Filter{Query: ref})
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if strings.EqualFold(c.Code, ref) {
			return c.ID, nil
		}
	}
	return "", attest.Invalid("control", "no such control in this organisation")
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := s.taskFilterFrom(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	ts, next, err := task.List(r.Context(), s.db.Q(), c.Actor.OrgID, f, s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ts, next))
}

type taskInput struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	OwnerID     string   `json:"owner_id"`
	DueOn       string   `json:"due_on"`
	Controls    []string `json:"controls"` // control ids or codes
}

func (s *Server) apiCreateTask(w http.ResponseWriter, r *http.Request, c *call) error {
	var in taskInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out task.Task
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = task.Create(r.Context(), tx, c.Actor.OrgID, task.Input{Title: in.Title, Description: in.Description,
			OwnerID: in.OwnerID, DueOn: in.DueOn, Controls: in.Controls})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiTask(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := task.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

type taskPatch struct {
	Status string `json:"status"` // done or skipped
	Note   string `json:"note"`   // for done: what was done; recorded as evidence
	Reason string `json:"reason"` // for skipped: why, required
}

// resolveTask completes or skips a task as the caller.
func (s *Server) resolveTask(ctx context.Context, c *call, id string, in taskPatch) (task.Task, error) {
	var out task.Task
	err := s.inTx(ctx, c, func(tx *store.Tx) error {
		var err error
		switch in.Status {
		case string(task.StatusDone):
			if strings.TrimSpace(in.Reason) != "" {
				return attest.Invalid("reason", "is for skipping; a completed task takes a note")
			}
			out, err = task.Complete(ctx, tx, c.Actor.OrgID, id, in.Note)
		case string(task.StatusSkipped):
			out, err = task.Skip(ctx, tx, c.Actor.OrgID, id, in.Reason)
		default:
			// Say NotFound before Invalid for an unknown task.
			if _, err := task.Get(ctx, tx, c.Actor.OrgID, id, tx.Now()); err != nil {
				return err
			}
			return attest.Invalid("status", "must be done or skipped")
		}
		return err
	})
	return out, err
}

func (s *Server) apiPatchTask(w http.ResponseWriter, r *http.Request, c *call) error {
	var in taskPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.resolveTask(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiTaskRules(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := task.ListRules(r.Context(), s.db.Q(), c.Actor.OrgID, s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(rs, ""))
}

func (s *Server) apiTaskRule(w http.ResponseWriter, r *http.Request, c *call) error {
	rl, err := task.GetRule(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), s.db.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rl)
}

type ruleInput struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Cadence     *string   `json:"cadence"`
	StartOn     *string   `json:"start_on"`
	OwnerID     *string   `json:"owner_id"`
	Controls    *[]string `json:"controls"` // control ids or codes
	Active      *bool     `json:"active"`
}

func (in ruleInput) domain() task.RuleInput {
	return task.RuleInput{Title: in.Title, Description: in.Description, Cadence: in.Cadence, StartOn: in.StartOn,
		OwnerID: in.OwnerID, Controls: in.Controls, Active: in.Active}
}

func (s *Server) apiCreateTaskRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var in ruleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answerChange(s, w, r, c, http.StatusCreated, func(tx *store.Tx) (task.Rule, error) {
		return task.CreateRule(r.Context(), tx, c.Actor.OrgID, in.domain())
	})
}

func (s *Server) apiPatchTaskRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var in ruleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answerChange(s, w, r, c, http.StatusOK, func(tx *store.Tx) (task.Rule, error) {
		return task.UpdateRule(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), in.domain())
	})
}

type defaultsInput struct {
	OwnerID string `json:"owner_id"` // who owns the new duties; default: the caller
}

func (s *Server) apiSeedTaskRules(w http.ResponseWriter, r *http.Request, c *call) error {
	var in defaultsInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.seedDefaults(r.Context(), c, in.OwnerID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(out, ""))
}

func (s *Server) seedDefaults(ctx context.Context, c *call, owner string) ([]task.Rule, error) {
	if owner == "" {
		owner = c.Actor.UserID
	}
	var out []task.Rule
	err := s.inTx(ctx, c, func(tx *store.Tx) error {
		var err error
		out, err = task.SeedDefaults(ctx, tx, c.Actor.OrgID, owner)
		return err
	})
	return out, err
}

func deliveryFilterFrom(q url.Values) (notify.Filter, error) {
	f := notify.Filter{Status: q.Get("status"), Channel: q.Get("channel"), TaskID: q.Get("task"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return f, attest.Invalid("limit", "must be a number from 1 to 200")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) apiDeliveries(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := deliveryFilterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	ds, next, err := notify.ListDeliveries(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ds, next))
}

func (s *Server) apiDelivery(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := notify.GetDelivery(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiRetryDelivery(w http.ResponseWriter, r *http.Request, c *call) error {
	return answerChange(s, w, r, c, http.StatusAccepted, func(tx *store.Tx) (notify.Delivery, error) {
		return notify.Retry(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
	})
}

type channelInput struct {
	Kind    *string   `json:"kind"`
	Name    *string   `json:"name"`
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"` // reminder, overdue, digest, policy; default all
	Enabled *bool     `json:"enabled"`
}

func (in channelInput) domain() notify.ChannelInput {
	return notify.ChannelInput{Kind: in.Kind, Name: in.Name, URL: in.URL, Events: in.Events, Enabled: in.Enabled}
}

func (s *Server) apiChannels(w http.ResponseWriter, r *http.Request, c *call) error {
	chs, err := notify.ListChannels(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(chs, ""))
}

func (s *Server) apiCreateChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	var in channelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answerChange(s, w, r, c, http.StatusCreated, func(tx *store.Tx) (notify.Channel, error) {
		return notify.CreateChannel(r.Context(), tx, s.sealer, c.Actor.OrgID, in.domain())
	})
}

func (s *Server) apiPatchChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	var in channelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answerChange(s, w, r, c, http.StatusOK, func(tx *store.Tx) (notify.Channel, error) {
		return notify.UpdateChannel(r.Context(), tx, s.sealer, c.Actor.OrgID, r.PathValue("id"), in.domain())
	})
}

func (s *Server) apiDeleteChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		return notify.DeleteChannel(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testChannel queues a test message to one channel, whatever its events.
func (s *Server) testChannel(ctx context.Context, c *call, id string) (notify.Delivery, error) {
	var out notify.Delivery
	err := s.inTx(ctx, c, func(tx *store.Tx) error {
		var err error
		out, err = notify.QueueTest(ctx, tx, c.Actor.OrgID, id)
		return err
	})
	return out, err
}

func (s *Server) apiTestChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.testChannel(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}
