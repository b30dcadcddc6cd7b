package pii

import "testing"

func TestTypeBitsFollowAllTypes(t *testing.T) {
	for i, typ := range AllTypes {
		if typ.bit() != 1<<i {
			t.Errorf("%s has bit %b, want %b", typ, typ.bit(), 1<<i)
		}
	}
	if Type("shoe_size").bit() != 0 {
		t.Error("unknown type has a bit")
	}
}
