package pii

// Validators: the checks a candidate passes beyond its shape. Each takes the
// bytes as written (digits only unless said otherwise) and never copies them.

// luhn reports whether the digits pass the Luhn (mod 10) check.
func luhn(digits []byte) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// num returns the value of a short run of ASCII digits.
func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// allSame reports whether every byte is the same (000000000, 1111...).
func allSame(b []byte) bool {
	for _, c := range b[1:] {
		if c != b[0] {
			return false
		}
	}
	return true
}

// validSSN checks the Social Security Administration's rules: area not 000,
// 666 or 900-999, group not 00, serial not 0000, and not one of the numbers
// the SSA voided after they were published.
func validSSN(area, group, serial []byte) bool {
	a, g, s := num(area), num(group), num(serial)
	if a == 0 || a == 666 || a >= 900 || g == 0 || s == 0 {
		return false
	}
	if (a == 78 && g == 5 && s == 1120) || (a == 219 && g == 9 && s == 9999) {
		return false
	}
	return true
}

// validITIN checks an Individual Taxpayer Identification Number: it starts
// with 9 and its middle two digits are in 50-65, 70-88, 90-92 or 94-99.
func validITIN(area, group, serial []byte) bool {
	a, g := num(area), num(group)
	if a < 900 || num(serial) == 0 {
		return false
	}
	return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99)
}

// validSIN checks a Canadian Social Insurance Number (9 digits): Luhn, and
// not a first digit of 8 (business numbers). 0 is not issued but is what
// published examples use ("046 454 286"), so it is kept.
func validSIN(d []byte) bool {
	return len(d) == 9 && d[0] != '8' && !allSame(d) && luhn(d)
}

// cardIssuer names the issuer whose range and length the digits fit, or "".
func cardIssuer(d []byte) string {
	n := len(d)
	if n < 12 || n > 19 {
		return ""
	}
	p := func(k int) int { return num(d[:k]) }
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case n == 16 && ((p(2) >= 51 && p(2) <= 55) || (p(4) >= 2221 && p(4) <= 2720)):
		return "mastercard"
	case n == 15 && (p(2) == 34 || p(2) == 37):
		return "amex"
	case n >= 16 && (p(4) == 6011 || (p(3) >= 644 && p(3) <= 649) || p(2) == 65 || (p(6) >= 622126 && p(6) <= 622925)):
		return "discover"
	case n >= 14 && ((p(3) >= 300 && p(3) <= 305) || p(2) == 36 || p(2) == 38 || p(2) == 39):
		return "diners"
	case n >= 16 && p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case n >= 16 && p(2) == 62:
		return "unionpay"
	case n == 16 && p(4) >= 2200 && p(4) <= 2204:
		return "mir"
	case n >= 12 && (p(4) == 5018 || p(4) == 5020 || p(4) == 5038 || p(4) == 5893 || p(4) == 6304 ||
		p(4) == 6759 || (p(4) >= 6761 && p(4) <= 6763)):
		return "maestro"
	case n == 15 && d[0] == '1':
		return "uatp"
	}
	return ""
}

// validCard checks issuer range and length, Luhn, and that the number is not
// one digit repeated. Well-known test numbers (4111 1111 1111 1111) pass:
// they are real card shapes and their presence is worth knowing.
func validCard(d []byte) bool {
	return cardIssuer(d) != "" && !allSame(d) && luhn(d)
}

// validNANP checks a North American number: area code [2-9][0-8][0-9] and
// not N11; exchange [2-9]XX and not N11.
func validNANP(npa, nxx []byte) bool {
	if len(npa) != 3 || len(nxx) != 3 {
		return false
	}
	if npa[0] < '2' || npa[1] == '9' || (npa[1] == '1' && npa[2] == '1') {
		return false
	}
	if nxx[0] < '2' || (nxx[1] == '1' && nxx[2] == '1') {
		return false
	}
	return true
}

// callingCodeLen returns how many leading digits form an assigned ITU
// country calling code, or 0 when none does.
func callingCodeLen(d []byte) int {
	if len(d) == 0 {
		return 0
	}
	if d[0] == '1' || d[0] == '7' {
		return 1
	}
	if len(d) < 2 {
		return 0
	}
	if twoDigitCC[num(d[:2])] {
		return 2
	}
	if len(d) < 3 {
		return 0
	}
	c3 := num(d[:3])
	if threeDigitZone[c3/10] && !unassignedCC[c3] {
		return 3
	}
	return 0
}

var twoDigitCC = map[int]bool{20: true, 27: true, 30: true, 31: true, 32: true, 33: true, 34: true, 36: true,
	39: true, 40: true, 41: true, 43: true, 44: true, 45: true, 46: true, 47: true, 48: true, 49: true,
	51: true, 52: true, 53: true, 54: true, 55: true, 56: true, 57: true, 58: true, 60: true, 61: true,
	62: true, 63: true, 64: true, 65: true, 66: true, 81: true, 82: true, 84: true, 86: true, 90: true,
	91: true, 92: true, 93: true, 94: true, 95: true, 98: true}

// threeDigitZone holds the first two digits of the three-digit codes.
var threeDigitZone = map[int]bool{21: true, 22: true, 23: true, 24: true, 25: true, 26: true, 29: true,
	35: true, 37: true, 38: true, 42: true, 50: true, 59: true, 67: true, 68: true, 69: true, 85: true,
	87: true, 88: true, 96: true, 97: true, 99: true}

var unassignedCC = map[int]bool{210: true, 214: true, 215: true, 217: true, 219: true, 259: true,
	292: true, 293: true, 294: true, 295: true, 296: true, 384: true, 424: true, 425: true, 426: true,
	427: true, 428: true, 429: true, 671: true, 693: true, 694: true, 695: true, 696: true, 697: true,
	698: true, 699: true, 851: true, 854: true, 857: true, 858: true, 859: true, 871: true, 872: true,
	873: true, 874: true, 875: true, 876: true, 877: true, 878: true, 879: true, 884: true, 885: true,
	887: true, 889: true, 969: true, 978: true, 990: true, 997: true, 999: true}

// ibanLength is the length of an IBAN per country (SWIFT IBAN registry).
var ibanLength = map[[2]byte]int{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28,
	{'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27,
	{'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18,
	{'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23,
	{'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'R'}: 21, {'H', 'U'}: 28, {'I', 'E'}: 22,
	{'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30, {'K', 'W'}: 30,
	{'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20,
	{'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22, {'M', 'K'}: 19,
	{'M', 'N'}: 20, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28, {'N', 'L'}: 18,
	{'N', 'O'}: 15, {'O', 'M'}: 23, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25,
	{'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'R', 'U'}: 33, {'S', 'A'}: 24, {'S', 'C'}: 31,
	{'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'O'}: 23,
	{'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26, {'U', 'A'}: 29,
	{'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// ibanMod97 computes the ISO 7064 mod-97 of a compact IBAN (country, check
// digits, BBAN; upper-case letters and digits only) after moving the first
// four characters to the end. A valid IBAN gives 1.
func ibanMod97(s []byte) int {
	r := 0
	add := func(c byte) {
		if c >= 'A' && c <= 'Z' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	for _, c := range s[4:] {
		add(c)
	}
	for _, c := range s[:4] {
		add(c)
	}
	return r
}

// validNINOPrefix checks the two letters of a UK National Insurance number:
// the first is not D, F, I, Q, U or V; the second not D, F, I, O, Q, U or V;
// and the pair is not one HMRC never issues (BG, GB, KN, NK, NT, TN, ZZ).
func validNINOPrefix(a, b byte) bool {
	switch a {
	case 'D', 'F', 'I', 'Q', 'U', 'V':
		return false
	}
	switch b {
	case 'D', 'F', 'I', 'O', 'Q', 'U', 'V':
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

// validDate checks a calendar date and a plausible birth year.
func validDate(y, m, d, maxYear int) bool {
	if y < 1900 || y > maxYear || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 29
	}
	return d <= days
}

// monthNames maps lower-case English month names and abbreviations to 1..12.
var monthNames = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
	"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
	"september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

// monthOf returns the month a word names (any case), or 0.
func monthOf(w []byte) int {
	if len(w) < 3 || len(w) > 9 {
		return 0
	}
	var low [9]byte
	for i, c := range w {
		low[i] = c | 0x20
	}
	return monthNames[string(low[:len(w)])]
}
