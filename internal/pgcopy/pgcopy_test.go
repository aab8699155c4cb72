package pgcopy

import (
	"bytes"
	"testing"
)

func TestEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"tuple", AppendTuple(nil, 3), []byte{0, 3}},
		{"null", AppendNull(nil), []byte{0xff, 0xff, 0xff, 0xff}},
		{"int32", AppendInt32(nil, -2), []byte{0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe}},
		{"int64", AppendInt64(nil, 258), []byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2}},
		{"text", AppendText(nil, "ab"), []byte{0, 0, 0, 2, 'a', 'b'}},
		{"bytes", AppendBytes(nil, []byte{9}), []byte{0, 0, 0, 1, 9}},
		{"header", Header, []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
	}
	for _, c := range cases {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: %x, want %x", c.name, c.got, c.want)
		}
	}
	if len(Header) != 19 {
		t.Errorf("header is %d bytes, the format's is 19", len(Header))
	}
}
