package ingest

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

// Field keys used for normalization, hashed once.
var (
	// CloudTrail
	ctEventTime    = event.FieldKey("eventTime")
	ctEventName    = event.FieldKey("eventName")
	ctEventSource  = event.FieldKey("eventSource")
	ctIdentType    = event.FieldKey("userIdentity.type")
	ctIdentArn     = event.FieldKey("userIdentity.arn")
	ctIdentUser    = event.FieldKey("userIdentity.userName")
	ctIdentPrinc   = event.FieldKey("userIdentity.principalId")
	ctInvokedBy    = event.FieldKey("userIdentity.invokedBy")
	ctSourceIP     = event.FieldKey("sourceIPAddress")
	ctUserAgent    = event.FieldKey("userAgent")
	ctErrorCode    = event.FieldKey("errorCode")
	ctAccount      = event.FieldKey("recipientAccountId")
	ctReadOnly     = event.FieldKey("readOnly")
	ctConsoleLogin = event.FieldKey("responseElements.ConsoleLogin")
	ctBucket       = event.FieldKey("requestParameters.bucketName")
	ctObjectKey    = event.FieldKey("requestParameters.key")
	ctResourceARN  = event.FieldKey("resources.ARN")
	ctTargets      = []uint64{
		event.FieldKey("requestParameters.userName"),
		event.FieldKey("requestParameters.roleName"),
		event.FieldKey("requestParameters.name"),
		event.FieldKey("requestParameters.trailName"),
		event.FieldKey("requestParameters.groupId"),
		event.FieldKey("requestParameters.detectorId"),
		event.FieldKey("requestParameters.policyArn"),
		event.FieldKey("requestParameters.snapshotId"),
		event.FieldKey("requestParameters.dBSnapshotIdentifier"),
		event.FieldKey("requestParameters.instancesSet.items.instanceId"),
	}

	// GitHub
	ghTimestamp = event.FieldKey("@timestamp")
	ghCreatedAt = event.FieldKey("created_at")
	ghAction    = event.FieldKey("action")
	ghActor     = event.FieldKey("actor")
	ghActorIP   = event.FieldKey("actor_ip")
	ghOrg       = event.FieldKey("org")
	ghUserAgent = event.FieldKey("user_agent")
	ghTargets   = []uint64{event.FieldKey("repo"), event.FieldKey("repository"), event.FieldKey("user"), event.FieldKey("team"), event.FieldKey("name")}

	// Okta
	oktaPublished = event.FieldKey("published")
	oktaEventType = event.FieldKey("eventType")
	oktaActorID   = event.FieldKey("actor.alternateId")
	oktaActorType = event.FieldKey("actor.type")
	oktaIP        = event.FieldKey("client.ipAddress")
	oktaUA        = event.FieldKey("client.userAgent.rawUserAgent")
	oktaResult    = event.FieldKey("outcome.result")
	oktaTarget    = event.FieldKey("target.alternateId")

	// Google Workspace
	gwTime       = event.FieldKey("id.time")
	gwApp        = event.FieldKey("id.applicationName")
	gwCustomer   = event.FieldKey("id.customerId")
	gwActorEmail = event.FieldKey("actor.email")
	gwActorKey   = event.FieldKey("actor.key")
	gwCallerType = event.FieldKey("actor.callerType")
	gwIP         = event.FieldKey("ipAddress")
	gwEventName  = event.FieldKey("events.name")
	gwParamName  = event.FieldKey("events.parameters.name")
	gwParamVals  = []uint64{
		event.FieldKey("events.parameters.value"),
		event.FieldKey("events.parameters.boolValue"),
		event.FieldKey("events.parameters.intValue"),
		event.FieldKey("events.parameters.multiValue"),
	}
	gwTargetParams = []string{"user_email", "target_user", "doc_title", "application_name", "group_email", "setting_name"}

	// Kubernetes
	k8sStageTime = event.FieldKey("stageTimestamp")
	k8sRecvTime  = event.FieldKey("requestReceivedTimestamp")
	k8sUser      = event.FieldKey("user.username")
	k8sVerb      = event.FieldKey("verb")
	k8sResource  = event.FieldKey("objectRef.resource")
	k8sSub       = event.FieldKey("objectRef.subresource")
	k8sNamespace = event.FieldKey("objectRef.namespace")
	k8sName      = event.FieldKey("objectRef.name")
	k8sSourceIPs = event.FieldKey("sourceIPs")
	k8sUA        = event.FieldKey("userAgent")
	k8sCode      = event.FieldKey("responseStatus.code")
	k8sAuditID   = event.FieldKey("auditID")
	k8sKind      = event.FieldKey("kind")
)

// lookup returns the first value stored under k that is not a container.
func lookup(ev *event.Event, k uint64) []byte {
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if f.Key == k && f.Kind != event.KindObject && f.Kind != event.KindArray && f.Kind != event.KindNull {
			return f.Value
		}
	}
	return nil
}

func lookupString(ev *event.Event, k uint64) string {
	return string(lookup(ev, k))
}

func parseCloudTrail(rec []byte, ev *event.Event) error {
	if _, err := indexJSON(rec, ev); err != nil {
		return err
	}
	ev.Source = event.SourceCloudTrail
	ev.Raw = rec
	// One pass over the fields picks up every normalized value; a lookup
	// per value would walk the fields fifteen times.
	var name, source, arn, user, princ, invoked, bucket, key, target []byte
	hasReadOnly := false
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if f.Kind == event.KindObject || f.Kind == event.KindArray {
			continue
		}
		switch f.Key {
		case ctEventTime:
			ev.Time = parseTime(f.Value)
		case ctEventName:
			name = f.Value
		case ctEventSource:
			source = f.Value
		case ctIdentType:
			ev.ActorType = string(f.Value)
		case ctIdentArn:
			arn = f.Value
		case ctIdentUser:
			user = f.Value
		case ctIdentPrinc:
			princ = f.Value
		case ctInvokedBy:
			invoked = f.Value
		case ctSourceIP:
			ev.SourceIP = string(f.Value)
		case ctUserAgent:
			ev.UserAgent = string(f.Value)
		case ctErrorCode:
			if len(f.Value) > 0 {
				ev.Outcome = event.OutcomeFailure
			}
		case ctAccount:
			ev.Org = string(f.Value)
		case ctReadOnly:
			ev.ReadOnly = string(f.Value) == "true"
			hasReadOnly = true
		case ctConsoleLogin:
			if string(f.Value) == "Failure" {
				ev.Outcome = event.OutcomeFailure
			}
		case ctBucket:
			bucket = f.Value
		case ctObjectKey:
			key = f.Value
		case ctResourceARN:
			if target == nil {
				target = f.Value
			}
		}
	}
	if ev.Outcome == event.OutcomeUnknown {
		ev.Outcome = event.OutcomeSuccess
	}
	switch {
	case len(arn) > 0:
		ev.Actor = string(arn)
	case len(user) > 0:
		ev.Actor = string(user)
	case len(princ) > 0:
		ev.Actor = string(princ)
	default:
		ev.Actor = string(invoked)
	}
	svc := bytes.TrimSuffix(source, []byte(".amazonaws.com"))
	ev.Action = string(svc) + ":" + string(name)
	if !hasReadOnly {
		ev.ReadOnly = isReadName(name)
	}
	switch {
	case len(bucket) > 0 && len(key) > 0:
		ev.Target = string(bucket) + "/" + string(key)
	case len(bucket) > 0:
		ev.Target = string(bucket)
	case target != nil:
		ev.Target = string(target)
	default:
		for _, k := range ctTargets {
			if v := lookup(ev, k); len(v) > 0 {
				ev.Target = string(v)
				break
			}
		}
	}
	return nil
}

// isReadName reports API names that only read (AWS naming conventions).
func isReadName(name []byte) bool {
	for _, p := range [...]string{"Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet"} {
		if bytes.HasPrefix(name, []byte(p)) {
			return true
		}
	}
	return false
}

func parseGitHub(rec []byte, ev *event.Event) error {
	if _, err := indexJSON(rec, ev); err != nil {
		return err
	}
	ev.Source = event.SourceGitHub
	ev.Raw = rec
	if v := lookup(ev, ghTimestamp); v != nil {
		ev.Time = parseTime(v)
	} else if v := lookup(ev, ghCreatedAt); v != nil {
		ev.Time = parseTime(v)
	}
	ev.Action = lookupString(ev, ghAction)
	ev.Actor = lookupString(ev, ghActor)
	ev.ActorType = "user"
	if strings.HasSuffix(ev.Actor, "[bot]") {
		ev.ActorType = "bot"
	}
	ev.SourceIP = lookupString(ev, ghActorIP)
	ev.UserAgent = lookupString(ev, ghUserAgent)
	ev.Org = lookupString(ev, ghOrg)
	ev.Outcome = event.OutcomeSuccess
	for _, k := range ghTargets {
		if v := lookup(ev, k); len(v) > 0 {
			ev.Target = string(v)
			break
		}
	}
	switch ev.Action {
	case "git.clone", "git.fetch":
		ev.ReadOnly = true
	}
	return nil
}

func parseOkta(rec []byte, ev *event.Event) error {
	if _, err := indexJSON(rec, ev); err != nil {
		return err
	}
	ev.Source = event.SourceOkta
	ev.Raw = rec
	ev.Time = parseTime(lookup(ev, oktaPublished))
	ev.Action = lookupString(ev, oktaEventType)
	ev.Actor = lookupString(ev, oktaActorID)
	ev.ActorType = lookupString(ev, oktaActorType)
	ev.SourceIP = lookupString(ev, oktaIP)
	ev.UserAgent = lookupString(ev, oktaUA)
	ev.Target = lookupString(ev, oktaTarget)
	switch string(lookup(ev, oktaResult)) {
	case "SUCCESS", "ALLOW":
		ev.Outcome = event.OutcomeSuccess
	case "FAILURE", "DENY":
		ev.Outcome = event.OutcomeFailure
	}
	return nil
}

// parseGWorkspace normalizes one activity of the Admin SDK Reports API. The
// public Sigma rules were written against the Google Cloud audit-log view of
// the same events, so the names they use (eventService, eventName,
// protoPayload.serviceName, protoPayload.metadata.event.eventName and
// parameters by their lowercase name) are added as fields.
func parseGWorkspace(rec []byte, ev *event.Event) error {
	if _, err := indexJSON(rec, ev); err != nil {
		return err
	}
	ev.Source = event.SourceGWorkspace
	ev.Raw = rec
	ev.Time = parseTime(lookup(ev, gwTime))
	app := lookupString(ev, gwApp)
	ev.Org = lookupString(ev, gwCustomer)
	ev.Actor = lookupString(ev, gwActorEmail)
	if ev.Actor == "" {
		// Google's own jobs and OAuth keys act with callerType KEY and a
		// key ("SYSTEM", a consumer key) instead of an email.
		ev.Actor = lookupString(ev, gwActorKey)
	}
	ev.ActorType = strings.ToLower(lookupString(ev, gwCallerType))
	if ev.ActorType == "" {
		ev.ActorType = "user"
	}
	// The API sometimes reports a blank address (" ") for admin actions.
	ev.SourceIP = strings.TrimSpace(lookupString(ev, gwIP))
	service := app + ".googleapis.com"
	ev.AddString("eventService", service)
	ev.AddString("protoPayload.serviceName", service)
	n := len(ev.Fields)
	var paramName []byte
	for i := 0; i < n; i++ {
		f := ev.Fields[i]
		switch {
		case f.Key == gwEventName:
			if ev.Action == "" {
				ev.Action = string(f.Value)
			}
			ev.Fields = append(ev.Fields,
				event.Field{Key: event.FieldKey("eventName"), Value: f.Value},
				event.Field{Key: event.FieldKey("protoPayload.metadata.event.eventName"), Value: f.Value})
		case f.Key == gwParamName:
			paramName = f.Value
		case paramName != nil && f.Kind != event.KindArray && (f.Key == gwParamVals[0] || f.Key == gwParamVals[1] || f.Key == gwParamVals[2] || f.Key == gwParamVals[3]):
			ev.Fields = append(ev.Fields, event.Field{Key: event.HashAppend(event.HashStart, paramName), Value: f.Value, Kind: f.Kind})
		}
	}
	for _, p := range gwTargetParams {
		if v, ok := ev.Value(event.FieldKey(p)); ok && len(v) > 0 {
			ev.Target = string(v)
			break
		}
	}
	ev.Outcome = event.OutcomeSuccess
	if strings.Contains(ev.Action, "failure") {
		ev.Outcome = event.OutcomeFailure
	}
	ev.Action = app + ":" + ev.Action
	return nil
}

func parseK8s(rec []byte, ev *event.Event) error {
	if _, err := indexJSON(rec, ev); err != nil {
		return err
	}
	ev.Source = event.SourceK8s
	ev.Raw = rec
	if v := lookup(ev, k8sStageTime); v != nil {
		ev.Time = parseTime(v)
	} else {
		ev.Time = parseTime(lookup(ev, k8sRecvTime))
	}
	ev.Actor = lookupString(ev, k8sUser)
	ev.ActorType = "user"
	if strings.HasPrefix(ev.Actor, "system:serviceaccount:") {
		ev.ActorType = "serviceaccount"
	} else if strings.HasPrefix(ev.Actor, "system:") {
		ev.ActorType = "system"
	}
	verb := lookupString(ev, k8sVerb)
	res := lookupString(ev, k8sResource)
	if sub := lookup(ev, k8sSub); len(sub) > 0 {
		res += "/" + string(sub)
	}
	ev.Action = verb + " " + res
	ns, name := lookup(ev, k8sNamespace), lookup(ev, k8sName)
	switch {
	case len(ns) > 0:
		ev.Target = string(ns) + "/" + string(name)
	default:
		ev.Target = string(name)
	}
	ev.SourceIP = lookupString(ev, k8sSourceIPs)
	ev.UserAgent = lookupString(ev, k8sUA)
	ev.Outcome = event.OutcomeSuccess
	if code, err := strconv.Atoi(string(lookup(ev, k8sCode))); err == nil && code >= 400 {
		ev.Outcome = event.OutcomeFailure
	}
	switch verb {
	case "get", "list", "watch":
		ev.ReadOnly = true
	}
	return nil
}

// parseTime reads the timestamps these logs use: RFC 3339 with or without
// fraction, or epoch milliseconds (GitHub). Unparseable times are zero; the
// engine then uses the time of the previous event.
func parseTime(v []byte) time.Time {
	if len(v) == 0 {
		return time.Time{}
	}
	if v[0] >= '0' && v[0] <= '9' && len(v) >= 10 && bytes.IndexByte(v, '-') < 0 {
		if n, err := strconv.ParseFloat(string(v), 64); err == nil {
			if n > 1e11 { // milliseconds
				return time.UnixMilli(int64(n)).UTC()
			}
			return time.Unix(int64(n), int64((n-float64(int64(n)))*1e9)).UTC()
		}
	}
	if t, ok := fastRFC3339(v); ok {
		return t
	}
	if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// fastRFC3339 parses the common UTC shape 2006-01-02T15:04:05[.fff]Z without
// time.Parse's generality; it is on the hot path of every event.
func fastRFC3339(v []byte) (time.Time, bool) {
	if len(v) < 20 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' || v[16] != ':' || v[len(v)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	h, ok4 := num(v[11:13])
	mi, ok5 := num(v[14:16])
	s, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	ns := 0
	rest := v[19 : len(v)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) > 10 || len(rest) < 2 {
			return time.Time{}, false
		}
		frac, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			frac *= 10
		}
		ns = frac
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), true
}
