package export

import (
	"fmt"
	"os"
	"testing"
)

// TestSpillBuffersStayWithinBudget routes rows the hardest way for the
// budget: each day's rows arrive together and the day never comes back (the
// days an incremental refresh appended to a table that is not in date order
// as a whole), so the buffers of the first days, allocated while the budget
// per buffer was large, are never flushed again by their own rows. Whatever the
// number of partitions, all buffers together must stay within the bound
// (without the rebalancing in newPart, the first days' buffers keep their
// size and a 4 MiB budget is overrun after 21 partitions), and every row
// must come back from the spill file, in order.
func TestSpillBuffersStayWithinBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		memory     int
		partitions int
		rowsPerDay int
		valueBytes int
	}{
		{"few partitions", 4 << 20, 10, 3000, 40},
		{"budget shared by many", 4 << 20, 500, 400, 40},
		{"more partitions than the budget has room for", 4 << 20, 2000, 120, 40},
		{"rows longer than the room", 1 << 20, 300, 20, 3 * spillRowRoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sp := newSpill(dir, tc.memory)
			defer sp.remove()
			value := make([]byte, tc.valueBytes)
			worst := 0.0
			for d := range tc.partitions {
				key := fmt.Sprintf("day=%04d", d)
				p, err := sp.newPart(key)
				if err != nil {
					t.Fatal(err)
				}
				for r := range tc.rowsPerDay {
					value[0] = byte(r)
					if err := sp.add(p, [][]byte{value, nil, value[:8]}); err != nil {
						t.Fatal(err)
					}
					if held, bound := spillHeld(sp), spillBound(tc.memory, len(sp.parts)); held > bound {
						t.Fatalf("after %d partitions: buffers hold %d bytes, bound %d (budget %d)", d+1, held, bound, tc.memory)
					} else {
						worst = max(worst, float64(held)/float64(bound))
					}
				}
			}
			for _, p := range sp.parts {
				if err := sp.flush(p); err != nil {
					t.Fatal(err)
				}
			}
			// However many partitions, the spill is one file.
			if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
				t.Fatalf("%d files in the spill folder (%v), want 1", len(ents), err)
			}
			for d := range tc.partitions {
				key := fmt.Sprintf("day=%04d", d)
				r, err := sp.open(key, 3)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for r.Next() {
					v := r.RawValues()
					if len(v[0]) != tc.valueBytes || v[0][0] != byte(n) || v[1] != nil || len(v[2]) != 8 {
						t.Fatalf("%s row %d: got lengths %d, %d, %d", key, n, len(v[0]), len(v[1]), len(v[2]))
					}
					n++
				}
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				r.Close()
				if n != tc.rowsPerDay {
					t.Fatalf("%s: %d rows back, want %d", key, n, tc.rowsPerDay)
				}
			}
			t.Logf("%d partitions: at most %.0f%% of the bound held", tc.partitions, 100*worst)
		})
	}
}

// spillHeld is the memory the spill's buffers hold (their capacity).
func spillHeld(sp *spill) (held int) {
	for _, p := range sp.parts {
		held += cap(p.buf)
	}
	return held
}

// spillBound is what buffers may hold together with n partitions: the
// budget, or 8 KiB a buffer when there are more partitions than the budget
// has room for, a quarter more (partitions added since the last rebalance)
// and 2 KiB of room a buffer for the row that crosses its flush size.
func spillBound(memory, n int) int {
	return max(memory, n*(8<<10))*5/4 + n*(2<<10)
}

// TestSpillShortFileIsAnError: a spill file shorter than the segments it
// should hold (a full disk, a file cut by hand) ends the partition's rows
// early, which the reader reports instead of returning fewer rows.
func TestSpillShortFileIsAnError(t *testing.T) {
	t.Parallel()
	sp := newSpill(t.TempDir(), 1<<20)
	defer sp.remove()
	p, err := sp.newPart("day=0001")
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 100)
	for range 1000 {
		if err := sp.add(p, [][]byte{value}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.flush(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sp.path(), sp.size-50); err != nil {
		t.Fatal(err)
	}
	r, err := sp.open("day=0001", 1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		n++
	}
	if r.Err() == nil || n != 999 {
		t.Fatalf("%d rows back, error %v; want 999 and an error", n, r.Err())
	}
}
