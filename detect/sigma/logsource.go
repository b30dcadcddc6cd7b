package sigma

import (
	"strings"

	"github.com/attest-hq/attest/detect/event"
)

// Logsource is the Sigma logsource section.
type Logsource struct {
	Product  string `json:"product,omitempty"`
	Service  string `json:"service,omitempty"`
	Category string `json:"category,omitempty"`
}

func (l Logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"product", l.Product}, {"service", l.Service}, {"category", l.Category}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " ")
}

// target is one source a rule runs on, with the conditions that narrow the
// source to the logsource (e.g. Google Workspace "login" activities, or
// auth.log lines written by sshd).
type target struct {
	source  event.Source
	filters []fieldCond
}

func exactFilter(field string, values ...string) fieldCond {
	c := fieldCond{key: event.FieldKey(field), name: field}
	for _, v := range values {
		c.patterns = append(c.patterns, pattern{kind: patExact, s: lowerASCII(nil, []byte(v))})
	}
	return c
}

// programs maps a Linux syslog service to the program names that log it.
var programs = map[string][]string{
	"sshd":      {"sshd", "sshd-session"},
	"sudo":      {"sudo"},
	"su":        {"su"},
	"cron":      {"cron", "crond", "CRON"},
	"vsftpd":    {"vsftpd"},
	"clamav":    {"clamd", "freshclam", "clamav"},
	"guacamole": {"guacd", "guacamole"},
	"useradd":   {"useradd"},
}

// targetsFor maps a logsource to the readers whose events it describes.
// The mapping is the field-mapping contract: SigmaHQ rules for these
// logsources use the field names the readers produce (the raw JSON paths
// for JSON logs; see the ingest package for text logs).
func targetsFor(l Logsource) ([]target, error) {
	p, s, c := strings.ToLower(l.Product), strings.ToLower(l.Service), strings.ToLower(l.Category)
	switch {
	case p == "aws" && (s == "cloudtrail" || s == ""):
		return []target{{source: event.SourceCloudTrail}}, nil
	case p == "github" && (s == "audit" || s == ""):
		return []target{{source: event.SourceGitHub}}, nil
	case p == "okta" && (s == "okta" || s == ""):
		return []target{{source: event.SourceOkta}}, nil
	case p == "kubernetes" && (s == "audit" || s == "") && (c == "" || c == "application"):
		return []target{{source: event.SourceK8s}}, nil
	case (p == "gcp" && strings.HasPrefix(s, "google_workspace")) || p == "google_workspace":
		app := strings.TrimPrefix(strings.TrimPrefix(s, "google_workspace"), ".")
		if app == "" {
			return []target{{source: event.SourceGWorkspace}}, nil
		}
		return []target{{source: event.SourceGWorkspace, filters: []fieldCond{exactFilter("id.applicationName", app)}}}, nil
	case p == "linux" && c == "":
		switch s {
		case "auditd":
			return []target{{source: event.SourceAuditd}}, nil
		case "":
			// Plain "product: linux" rules are keyword searches over
			// syslog text; auditd lines are logs of the same host.
			return []target{{source: event.SourceAuthLog}, {source: event.SourceAuditd}}, nil
		case "auth", "syslog":
			return []target{{source: event.SourceAuthLog}}, nil
		}
		if progs, ok := programs[s]; ok {
			return []target{{source: event.SourceAuthLog, filters: []fieldCond{exactFilter("program", progs...)}}}, nil
		}
		return nil, unsupported("logsource %s: no reader for Linux service %q", l, s)
	case p == "linux":
		return nil, unsupported("logsource %s: category %q needs endpoint telemetry (e.g. Sysmon for Linux) that Attest does not read", l, c)
	}
	return nil, unsupported("logsource %s: Attest has no reader for it", l)
}

// indexFields is, per source, the fields whose value most rules test for
// equality, best first; rules are filed under those values so an event is
// only checked against rules that can match its action (CloudTrail rules
// that name no eventName usually name an eventSource).
var indexFields = func() [event.NumSources][]uint64 {
	var k [event.NumSources][]uint64
	k[event.SourceCloudTrail] = []uint64{event.FieldKey("eventName"), event.FieldKey("eventSource")}
	k[event.SourceGitHub] = []uint64{event.FieldKey("action")}
	k[event.SourceOkta] = []uint64{event.FieldKey("eventType")}
	k[event.SourceGWorkspace] = []uint64{event.FieldKey("eventName")}
	k[event.SourceK8s] = []uint64{event.FieldKey("verb"), event.FieldKey("objectRef.resource")}
	k[event.SourceAuthLog] = []uint64{event.FieldKey("program")}
	k[event.SourceAuditd] = []uint64{event.FieldKey("type")}
	return k
}()
