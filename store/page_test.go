package store_test

import (
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

func TestCursors(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	gotAt, gotID, err := store.DecodeTimeCursor(store.TimeCursor(at, "alr_1"))
	if err != nil || !gotAt.Equal(at) || gotID != "alr_1" {
		t.Fatalf("round trip: %v %q %v", gotAt, gotID, err)
	}
	key, id, err := store.DecodeCursor(store.EncodeCursor("2026-12-01", "tsk_9"))
	if err != nil || key != "2026-12-01" || id != "tsk_9" {
		t.Fatalf("string round trip: %q %q %v", key, id, err)
	}
	for _, bad := range []string{"%%%", "bm90aGluZw", store.EncodeCursor("not-a-time", "x"), store.EncodeCursor("k", "")} {
		if _, _, err := store.DecodeTimeCursor(bad); attest.KindOf(err) != attest.KindInvalid {
			t.Errorf("cursor %q: %v, want invalid", bad, err)
		}
	}
}

func TestTrim(t *testing.T) {
	cursor := func(n int) string { return string(rune('a' + n)) }
	cases := []struct {
		rows  []int
		limit int
		want  int
		next  string
	}{
		{[]int{0, 1, 2}, 3, 3, ""},
		{[]int{0, 1, 2, 3}, 3, 3, "c"},
		{nil, 3, 0, ""},
	}
	for _, c := range cases {
		got, next := store.Trim(c.rows, c.limit, cursor)
		if len(got) != c.want || next != c.next {
			t.Errorf("Trim(%v, %d) = %v, %q", c.rows, c.limit, got, next)
		}
	}
}
