// Package event is the normalized event model that every log format is
// turned into. It is the vocabulary shared by ingestion (detect/ingest), rule
// matching (detect/sigma), baselines (detect/baseline) and the engine
// (detect); it imports none of them.
package event

import (
	"time"
)

// Source names the log format an event came from. Rules select events by
// source through their Sigma logsource.
type Source uint8

// The sources Attest reads.
const (
	SourceUnknown Source = iota
	SourceCloudTrail
	SourceGitHub
	SourceOkta
	SourceGWorkspace
	SourceK8s
	SourceAuthLog
	SourceAuditd
	numSources
)

// NumSources is the number of Source values, for tables indexed by Source.
const NumSources = int(numSources)

var sourceNames = [...]string{"unknown", "cloudtrail", "github", "okta", "gworkspace", "k8s", "authlog", "auditd"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// ParseSource returns the Source named by name (the --format words).
func ParseSource(name string) (Source, bool) {
	for i, n := range sourceNames {
		if i > 0 && n == name {
			return Source(i), true
		}
	}
	return SourceUnknown, false
}

// Outcome is whether the logged action succeeded, as far as the log says.
type Outcome uint8

// Outcomes.
const (
	OutcomeUnknown Outcome = iota
	OutcomeSuccess
	OutcomeFailure
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	}
	return "unknown"
}

// Kind is the JSON type of a field value; text logs only produce strings.
type Kind uint8

// Kinds.
const (
	KindString Kind = iota
	KindNumber
	KindBool
	KindNull
	KindObject
	KindArray
)

// Field is one value of an event addressable by a Sigma field name. Key is
// FieldKey of the lowercased dotted path ("userIdentity.type" and
// "useridentity.type" share a key: SigmaHQ rules are not consistent about
// case, e.g. protoPayload.Servicename). Elements of an array carry the path of
// the array, so "target.displayName" yields one Field per Okta target. An
// object or array also appears itself, with its raw JSON text as Value, so
// "requestParameters|contains" searches the whole object as Sigma rules
// expect.
type Field struct {
	Key   uint64
	Value []byte
	Kind  Kind
}

// Event is one normalized log record. The named fields are what baselines and
// alerts use; Fields is what rules match. Value slices and Raw may point into
// buffers that the reader reuses once the event has been processed: anything
// kept beyond Engine.Process must be copied (the engine does).
type Event struct {
	Source    Source
	Time      time.Time
	Actor     string
	ActorType string
	Action    string
	Target    string
	SourceIP  string
	UserAgent string
	Outcome   Outcome
	Org       string
	// ReadOnly marks reads (Describe*, List*, GET ...): baselines do not
	// raise first-seen alerts for them, or every new dashboard would page.
	ReadOnly bool
	// Raw is the record as read: one JSON object or one log line. Keyword
	// (field-less) Sigma searches run over it.
	Raw    []byte
	Fields []Field
	// Arena holds unescaped string values that Fields point into; kept here
	// so a reused Event reuses its memory.
	Arena []byte
}

// Reset clears e for reuse, keeping its allocated slices.
func (e *Event) Reset() {
	fields, arena := e.Fields[:0], e.Arena[:0]
	*e = Event{Fields: fields, Arena: arena}
}

// FNV-1a 64 constants. The path hash is FNV-1a over the lowercased dotted
// path, computed incrementally while parsing so no path string is built.
const (
	hashOffset uint64 = 14695981039346656037
	hashPrime  uint64 = 1099511628211
)

// HashStart is the hash of the empty path.
const HashStart = hashOffset

// lower maps a byte to its ASCII lowercase; a table lookup keeps the
// hashing loop, which runs over every JSON key, free of branches.
var lower = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// HashAppend extends hash h by the lowercased bytes of s.
func HashAppend(h uint64, s []byte) uint64 {
	for _, c := range s {
		h ^= uint64(lower[c])
		h *= hashPrime
	}
	return h
}

// HashAppendString is HashAppend for a string.
func HashAppendString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= hashPrime
	}
	return h
}

// HashChild returns the key of member name under the path hashed as parent
// (HashStart for a top-level member).
func HashChild(parent uint64, name []byte) uint64 {
	if parent != hashOffset {
		parent ^= '.'
		parent *= hashPrime
	}
	return HashAppend(parent, name)
}

// FieldKey is the Field.Key of a dotted path such as "userIdentity.arn".
// Collisions between two distinct paths of one event are possible in
// principle (64-bit hash) and ignored in practice.
func FieldKey(path string) uint64 {
	return HashAppendString(hashOffset, path)
}

// Value returns the first value of the field with key k.
func (e *Event) Value(k uint64) ([]byte, bool) {
	for i := range e.Fields {
		if e.Fields[i].Key == k {
			return e.Fields[i].Value, true
		}
	}
	return nil, false
}

// String returns the first value of the field at path as a string, or "".
func (e *Event) String(path string) string {
	v, _ := e.Value(FieldKey(path))
	return string(v)
}

// Add appends a string field; text-log parsers and virtual fields use it.
func (e *Event) Add(path string, value []byte) {
	e.Fields = append(e.Fields, Field{Key: FieldKey(path), Value: value})
}

// AddString appends a string field, copying value into the arena.
func (e *Event) AddString(path string, value string) {
	start := len(e.Arena)
	e.Arena = append(e.Arena, value...)
	e.Fields = append(e.Fields, Field{Key: FieldKey(path), Value: e.Arena[start:len(e.Arena):len(e.Arena)]})
}
