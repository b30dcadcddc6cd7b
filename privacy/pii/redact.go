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
		alnum += int(redactClass[c] & 1)
	}
	keep := min(4, alnum/2)
	seen := 0
	for i, c := range v {
		switch redactClass[c] {
		case 1: // a letter or digit
			if seen < alnum-keep {
				out[i] = '*'
			} else {
				out[i] = c
			}
			seen++
		case 2: // a separator that shows the shape
			out[i] = c
		default:
			out[i] = '*'
		}
	}
	return string(out)
}

// redactClass is 1 for an ASCII letter or digit, 2 for a separator kept in
// a redacted value, 0 for anything else.
var redactClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = 1, 1
	}
	for _, c := range " -./()+:," {
		t[c] = 2
	}
	return t
}()
