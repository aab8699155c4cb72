package pgcopy

import "encoding/binary"

// Header starts a binary COPY stream (signature, flags, no extension).
var Header = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// Trailer ends a binary COPY stream.
var Trailer = []byte{0xff, 0xff}

// AppendTuple starts a tuple of n fields.
func AppendTuple(dst []byte, n int) []byte { return binary.BigEndian.AppendUint16(dst, uint16(n)) }

// AppendNull appends a NULL field.
func AppendNull(dst []byte) []byte { return append(dst, 0xff, 0xff, 0xff, 0xff) }

// AppendInt32 appends a 4-byte field (int4, date).
func AppendInt32(dst []byte, v int32) []byte {
	dst = append(dst, 0, 0, 0, 4)
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

// AppendInt64 appends an 8-byte field (int8, float8 bits, timestamp).
func AppendInt64(dst []byte, v int64) []byte {
	dst = append(dst, 0, 0, 0, 8)
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// AppendBytes appends a variable-length field (text, bytea).
func AppendBytes(dst, v []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// AppendText appends a text field.
func AppendText(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}
