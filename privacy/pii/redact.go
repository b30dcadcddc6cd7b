package pii

// redact masks a value so that at most its last four characters remain
// (and never more than half of them). Separators in numbers stay so the
// shape is recognisable ("***-**-6789", "**** **** **** 1111"); an email is
// masked whole but for its last characters so neither the mailbox nor the
// domain's first labels show ("****************.com").
func redact(t Type, v []byte) string {
	var small [64]byte // most values: one allocation, the string
	var out []byte
	if len(v) <= len(small) {
		out = small[:len(v)]
	} else {
		out = make([]byte, len(v))
	}
	if t == Email {
		keep := min(4, len(v)/2)
		for i := range v {
			if i < len(v)-keep {
				out[i] = '*'
			} else {
				out[i] = v[i]
			}
		}
		return string(out)
	}
	alnum := 0
	for _, c := range v {
		if isAlnum(c) {
			alnum++
		}
	}
	keep := min(4, alnum/2)
	seen := 0
	for i, c := range v {
		switch {
		case isAlnum(c):
			if seen < alnum-keep {
				out[i] = '*'
			} else {
				out[i] = c
			}
			seen++
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '+' || c == ':' || c == ',':
			out[i] = c
		default:
			out[i] = '*'
		}
	}
	return string(out)
}
