package load

import (
	"strconv"
	"testing"
	"time"
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

// Thousands separators are accepted only between groups of three digits of
// the integer part.
func TestThousandsGrouping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dec, th byte
		in      string
		want    float64
		ok      bool
	}{
		{',', '.', "1.234.567,89", 1234567.89, true},
		{',', '.', "1.234", 1234, true},
		{',', '.', "-12.345,5", -12345.5, true},
		{',', '.', "999", 999, true},
		{',', '.', "1234567,5", 1234567.5, true},
		{',', '.', ",5", 0.5, true},
		{',', '.', "1.5", 0, false},
		{',', '.', "1.2.3", 0, false},
		{',', '.', "12.34", 0, false},
		{',', '.', "1234.567", 0, false},
		{',', '.', "0.123", 0, false},
		{',', '.', ".123", 0, false},
		{',', '.', "1..234", 0, false},
		{',', '.', "1.234,5.6", 0, false},
		{',', '.', "1.2345", 0, false},
		{',', '.', "1.234.", 0, false},
		{'.', ',', "1,234.5", 1234.5, true},
		{'.', ',', "1,5", 0, false},
		{'.', ' ', "1 234 567.25", 1234567.25, true},
		{'.', ' ', "12 34", 0, false},
		{',', 0, "1.5", 0, false},
		{',', 0, "1,5", 1.5, true},
		{'.', 0, "1,5", 0, false},
	}
	for _, c := range cases {
		p := numParser{decimal: c.dec, thousands: c.th}
		got, err := p.float([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("decimal %q thousands %q: float(%q) = %v, %v; want %v ok=%v", c.dec, c.th, c.in, got, err, c.want, c.ok)
		}
		n, err := p.int([]byte(c.in))
		if c.ok && c.want == float64(int64(c.want)) && (err != nil || n != int64(c.want)) {
			t.Errorf("int(%q) = %d, %v", c.in, n, err)
		}
	}
}

func TestDaysIn(t *testing.T) {
	t.Parallel()
	for y := 1; y <= 2400; y++ {
		for m := 1; m <= 12; m++ {
			if got, want := daysIn(y, m), time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day(); got != want {
				t.Fatalf("daysIn(%d, %d) = %d, want %d", y, m, got, want)
			}
		}
	}
}
