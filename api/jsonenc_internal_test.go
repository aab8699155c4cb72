package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendJSONMatchesEncodingJSON checks the hand-written encoders of
// the series responses against encoding/json on generated values: strings
// that need escaping (quotes, <, &, control characters, invalid UTF-8,
// U+2028), floats of every magnitude and sign, nil pointers and slices.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11)) // shared by the subtests: they run one after the other
	strs := []string{"", "ALL", "FAM01_MATERIAL 0001", `DISCO "4.1/2" <G36> & co`, "tab\there", "nul\x00", "bad\xffutf8",
		"São Paulo Ç", "line\u2028sep", `back\slash`, "emoji 😀", "</script>", "A & B", "a>b", "x\x7f"}
	floats := []float64{0, -0.0, 1, -1, 0.1, 1.5, 123456789.125, 1e-7, 1.5e-7, -2e-9, 1e20, 1e21, 1.7976931348623157e308,
		5e-324, 123.456e-10, 100, 0.000001, 999999999999999999999.0}
	str := func() string { return strs[rng.IntN(len(strs))] }
	optStr := func() *string {
		if rng.IntN(4) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	flt := func() float64 {
		if rng.IntN(3) == 0 {
			return floats[rng.IntN(len(floats))]
		}
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	}
	optFlt := func() *float64 {
		if rng.IntN(4) == 0 {
			return nil
		}
		f := flt()
		return &f
	}
	same := func(t *testing.T, v jsonAppender) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := v.appendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
		}
		body, err := jsonBody(v)
		if err != nil || !bytes.Equal(body, append(want, '\n')) {
			t.Fatalf("jsonBody: %q, %v", body, err)
		}
	}
	t.Run("demand", func(t *testing.T) {
		for range 300 {
			r := demandResponse{ItemID: str(), SiteID: str(), Unit: optStr(), Period: periodJSON{str(), str()}}
			if rng.IntN(5) > 0 {
				r.Units = []string{}
				for range rng.IntN(3) {
					r.Units = append(r.Units, str())
				}
			}
			if rng.IntN(5) > 0 {
				r.Points = []demandPointJSON{}
				for range rng.IntN(40) {
					r.Points = append(r.Points, demandPointJSON{Date: str(), Quantity: flt(), Lines: rng.Int32() - rng.Int32(), Total7d: flt(), Total30d: flt()})
				}
			}
			same(t, r)
		}
	})
	t.Run("timeseries", func(t *testing.T) {
		for range 300 {
			r := timeseriesResponse{ItemID: str(), Period: periodJSON{str(), str()},
				Metadata: seriesMetaJSON{ModelVersion: optStr(), DatasetID: optStr(), GeneratedAt: optStr()}}
			if rng.IntN(5) > 0 {
				r.Timeseries = []pointJSON{}
				for range rng.IntN(40) {
					r.Timeseries = append(r.Timeseries, pointJSON{Date: str(), Forecast: optFlt(), Actual: optFlt(), Lower: optFlt(), Upper: optFlt(),
						Mape: optFlt(), Source: str(), ModelVersion: str(), DatasetID: str(), GeneratedAt: str()})
				}
			}
			same(t, r)
		}
	})
}

// TestAppendDateAndTime checks the fast date and timestamp layouts against
// time.Format over the years the warehouse holds and beyond.
func TestAppendDateAndTime(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 5))
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		sp = time.FixedZone("BRT", -3*3600)
	}
	for range 5000 {
		tm := time.Unix(rng.Int64N(1<<37)-(1<<36), 0).In([]*time.Location{time.UTC, sp}[rng.IntN(2)])
		if got, want := string(appendDate(nil, tm)), tm.Format(dateLayout); got != want {
			t.Fatalf("appendDate(%v) = %q, want %q", tm, got, want)
		}
		if got, want := string(appendRFC3339UTC(nil, tm)), tm.UTC().Format(time.RFC3339); got != want {
			t.Fatalf("appendRFC3339UTC(%v) = %q, want %q", tm, got, want)
		}
	}
}
