package event

import "testing"

func TestFieldKeyMatchesIncrementalHash(t *testing.T) {
	h := HashChild(HashChild(HashChild(HashStart, []byte("userIdentity")), []byte("sessionContext")), []byte("Type"))
	if h != FieldKey("useridentity.sessioncontext.type") || h != FieldKey("userIdentity.sessionContext.Type") {
		t.Fatal("incremental path hash differs from FieldKey")
	}
	if FieldKey("a.b") == FieldKey("ab") {
		t.Fatal("separator not hashed")
	}
}

func TestResetKeepsMemory(t *testing.T) {
	var e Event
	e.AddString("a", "x")
	e.Actor = "alice"
	e.Reset()
	if e.Actor != "" || len(e.Fields) != 0 || cap(e.Fields) == 0 {
		t.Fatalf("reset = %+v", e)
	}
	if s, ok := ParseSource("k8s"); !ok || s != SourceK8s || s.String() != "k8s" {
		t.Fatal("ParseSource")
	}
}
