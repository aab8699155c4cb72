package load

import (
	"strconv"
	"testing"
)

func TestFastFloatMatchesStrconv(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "1", "13.436424", "0.1", "0.3", "123456789012345", "1234567890.12345",
		"0.000000000000000000001", "5.", ".5", "+2.25", "-7.125", "99.95134159200592", "1.7856838241545891",
		"1e5", "", "-", ".", "1.2.3", "abc", "12a", "00012.500", "1234567890123456"} {
		want, werr := strconv.ParseFloat(s, 64)
		got, ok := fastFloat([]byte(s))
		if ok && (werr != nil || got != want) {
			t.Errorf("fastFloat(%q) = %v, strconv %v %v", s, got, want, werr)
		}
		var p numParser
		p.decimal = '.'
		g2, err := p.float([]byte(s))
		if (err == nil) != (werr == nil) || (err == nil && g2 != want) {
			t.Errorf("float(%q) = %v %v, strconv %v %v", s, g2, err, want, werr)
		}
	}
}
