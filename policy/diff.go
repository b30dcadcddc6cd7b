package policy

import "strings"

// DiffOp says what happened to a line.
type DiffOp string

// The line operations.
const (
	OpSame   DiffOp = "same"
	OpAdd    DiffOp = "add"
	OpDelete DiffOp = "delete"
)

// DiffLine is one line of a diff. Old and New are 1-based line numbers in
// each text, 0 where the line does not exist.
type DiffLine struct {
	Op   DiffOp `json:"op"`
	Old  int    `json:"old"`
	New  int    `json:"new"`
	Text string `json:"text"`
}

// maxEdit bounds the work of the diff: past this many differing lines the
// remaining middle is shown as deleted and re-added, which is still a
// correct (if longer) diff.
const maxEdit = 1000

// Diff returns a shortest line diff from a to b (Myers' O(ND) algorithm
// after trimming the common head and tail).
func Diff(a, b string) []DiffLine {
	al, bl := splitLines(a), splitLines(b)
	// Lines are compared as small integers.
	ids := map[string]int{}
	intern := func(ls []string) []int {
		out := make([]int, len(ls))
		for i, l := range ls {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	x, y := intern(al), intern(bl)
	head := 0
	for head < len(x) && head < len(y) && x[head] == y[head] {
		head++
	}
	tail := 0
	for tail < len(x)-head && tail < len(y)-head && x[len(x)-1-tail] == y[len(y)-1-tail] {
		tail++
	}
	var out []DiffLine
	for i := 0; i < head; i++ {
		out = append(out, DiffLine{Op: OpSame, Old: i + 1, New: i + 1, Text: al[i]})
	}
	for _, op := range myers(x[head:len(x)-tail], y[head:len(y)-tail]) {
		l := DiffLine{Op: op.op}
		switch op.op {
		case OpSame:
			l.Old, l.New, l.Text = head+op.i+1, head+op.j+1, al[head+op.i]
		case OpDelete:
			l.Old, l.Text = head+op.i+1, al[head+op.i]
		case OpAdd:
			l.New, l.Text = head+op.j+1, bl[head+op.j]
		}
		out = append(out, l)
	}
	for k := tail; k > 0; k-- {
		i, j := len(al)-k, len(bl)-k
		out = append(out, DiffLine{Op: OpSame, Old: i + 1, New: j + 1, Text: al[i]})
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type edit struct {
	op   DiffOp
	i, j int // indexes into the old and new slices
}

// myers finds a shortest edit script from x to y. It keeps the frontier of
// every step d (O(D²) memory), then walks back through them.
func myers(x, y []int) []edit {
	n, m := len(x), len(y)
	if n == 0 && m == 0 {
		return nil
	}
	max := min(n+m, maxEdit)
	offset := max + 1
	v := make([]int, 2*max+3)
	var trace [][]int
	found := -1
	for d := 0; d <= max && found < 0; d++ {
		snap := make([]int, 2*d+1)
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				i = v[offset+k+1] // step down: insertion
			} else {
				i = v[offset+k-1] + 1 // step right: deletion
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i, j = i+1, j+1
			}
			v[offset+k] = i
			if i >= n && j >= m {
				found = d
			}
		}
		for k := -d; k <= d; k++ {
			snap[k+d] = v[offset+k]
		}
		trace = append(trace, snap)
	}
	if found < 0 {
		return replaceAll(n, m)
	}
	var rev []edit
	i, j := n, m
	for d := found; d > 0; d-- {
		prev := trace[d-1] // frontier after step d-1, indexed by k+d-1
		at := func(k int) int { return prev[k+d-1] }
		k := i - j
		pk := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		}
		pi := at(pk)
		pj := pi - pk
		for i > pi && j > pj {
			i, j = i-1, j-1
			rev = append(rev, edit{OpSame, i, j})
		}
		if i == pi {
			rev = append(rev, edit{OpAdd, pi, pj})
		} else {
			rev = append(rev, edit{OpDelete, pi, pj})
		}
		i, j = pi, pj
	}
	for i > 0 && j > 0 {
		i, j = i-1, j-1
		rev = append(rev, edit{OpSame, i, j})
	}
	out := make([]edit, len(rev))
	for k, e := range rev {
		out[len(rev)-1-k] = e
	}
	return out
}

// replaceAll is the fallback edit script: every old line out, every new in.
func replaceAll(n, m int) []edit {
	out := make([]edit, 0, n+m)
	for i := 0; i < n; i++ {
		out = append(out, edit{OpDelete, i, 0})
	}
	for j := 0; j < m; j++ {
		out = append(out, edit{OpAdd, n, j})
	}
	return out
}

// DiffStats counts added and deleted lines.
func DiffStats(lines []DiffLine) (added, deleted int) {
	for _, l := range lines {
		switch l.Op {
		case OpAdd:
			added++
		case OpDelete:
			deleted++
		}
	}
	return added, deleted
}
