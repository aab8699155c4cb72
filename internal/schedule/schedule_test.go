package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec, tz string
		ok       bool
	}{
		{"0 2 * * *", "", true},
		{"30 1 * * 1-5", "America/Sao_Paulo", true},
		{"@daily", "UTC", true},
		{"@every 6h", "", true},
		{"0 2 * *", "", false},     // 4 fields
		{"0 2 * * * *", "", false}, // seconds are not accepted
		{"61 2 * * *", "", false},  // minute out of range
		{"0 2 * * *", "Mars/Olympus", false},
	}
	for _, tc := range cases {
		_, _, err := Parse(tc.spec, tc.tz)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q, %q) error = %v, want ok=%v", tc.spec, tc.tz, err, tc.ok)
		}
	}
}

func TestNextInTimeZone(t *testing.T) {
	t.Parallel()
	s, err := New("0 2 * * *", "", func(context.Context) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Location.String() != "America/Sao_Paulo" {
		t.Fatalf("default zone %s", s.Location)
	}
	// 2026-11-26 04:00 UTC is 01:00 in São Paulo (UTC-3, no DST since 2019):
	// the next 02:00 local is 05:00 UTC the same day.
	from := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	next := s.Next(from)
	if want := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("Next(%s) = %s, want %s", from, next.UTC(), want)
	}
	// Just after it: the next day.
	if n2 := s.Next(next); !n2.Equal(next.Add(24 * time.Hour)) {
		t.Fatalf("Next(%s) = %s", next, n2.UTC())
	}
}

func TestRunFiresAndStops(t *testing.T) {
	t.Parallel()
	var fired atomic.Int32
	var cancelled atomic.Bool
	started := make(chan struct{}, 1)
	s, err := New("@every 1s", "UTC", func(ctx context.Context) {
		if fired.Add(1) == 1 {
			started <- struct{}{}
		}
		// A long job: must be cancelled when the scheduler stops.
		select {
		case <-ctx.Done():
			cancelled.Store(true)
		case <-time.After(30 * time.Second):
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never fired")
	}
	if !s.Running() {
		t.Fatal("Running() = false while the job runs")
	}
	// While the first job runs, further firings are skipped, not stacked.
	time.Sleep(2200 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Fatalf("job started %d times while the first was still running", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if !cancelled.Load() {
		t.Fatal("the running job's context was not cancelled")
	}
	if s.Running() {
		t.Fatal("Running() = true after stop")
	}
}
