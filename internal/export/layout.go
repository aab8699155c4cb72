package export

import (
	"fmt"
	"strings"
	"time"
)

// Partition grains: how finely a partitioned table is split into folders.
const (
	grainDay   = "day"
	grainMonth = "month"
	grainNone  = "none"
	// grainAuto chooses day, month or none per table by the file-size rule.
	grainAuto = "auto"
)

// nullKey is the partition key (and folder value) of rows whose partition
// date is NULL: the name Hive, Spark, pyarrow and DuckDB read as NULL.
const nullKey = "__HIVE_DEFAULT_PARTITION__"

// partSource says where a table's partition date comes from.
type partSource int

const (
	// partNone: the table is written as one file set (dimensions, tables
	// without a date).
	partNone partSource = iota
	// partByDate: the table's own date column; folders date=YYYY-MM-DD or
	// month=YYYY-MM (silver and gold).
	partByDate
	// partByLoad: the day the row's load started (meta.loads.started_at in
	// UTC) through its load id column; folders year=YYYY/month=MM/day=DD
	// (bronze).
	partByLoad
)

// partitionDir is the folder, relative to the table's folder, of partition
// key under grain ("" for an unpartitioned table or grain none).
func partitionDir(src partSource, grain, key string) string {
	if key == "" || grain == grainNone {
		return ""
	}
	switch src {
	case partByLoad:
		// key is YYYY-MM-DD or YYYY-MM.
		y, rest, _ := strings.Cut(key, "-")
		m, d, _ := strings.Cut(rest, "-")
		if grain == grainMonth {
			return "year=" + y + "/month=" + m
		}
		return "year=" + y + "/month=" + m + "/day=" + d
	default:
		if grain == grainMonth {
			return "month=" + key
		}
		return "date=" + key
	}
}

// partitionColumns are the columns a Hive-style reader infers from the
// folder names of a table exported at grain.
func partitionColumns(src partSource, grain string) []ManifestColumn {
	switch {
	case grain == grainNone || src == partNone:
		return []ManifestColumn{}
	case src == partByLoad && grain == grainMonth:
		return []ManifestColumn{{Name: "year", Type: "int32", Parquet: "path"}, {Name: "month", Type: "int32", Parquet: "path"}}
	case src == partByLoad:
		return []ManifestColumn{{Name: "year", Type: "int32", Parquet: "path"}, {Name: "month", Type: "int32", Parquet: "path"},
			{Name: "day", Type: "int32", Parquet: "path"}}
	case grain == grainMonth:
		return []ManifestColumn{{Name: "month", Type: "string", Parquet: "path (YYYY-MM)"}}
	default:
		return []ManifestColumn{{Name: PartitionColumn, Type: "date", Parquet: "path (YYYY-MM-DD)", Nullable: true}}
	}
}

// dayKey turns days since 1970-01-01 into the partition key of grain.
func dayKey(day int32, grain string) string {
	return partitionKey(time.Unix(int64(day)*86400, 0).UTC(), grain)
}

func partitionKey(d time.Time, grain string) string {
	switch grain {
	case grainMonth:
		return d.Format("2006-01")
	case grainNone:
		return ""
	default:
		return d.Format(time.DateOnly)
	}
}

// keyRange is the half-open date range [lo, hi) of a partition key.
func keyRange(key, grain string) (lo, hi time.Time, err error) {
	if grain == grainMonth {
		d, err := time.Parse("2006-01", key)
		if err != nil {
			return lo, hi, fmt.Errorf("partition %q: %w", key, err)
		}
		return d, d.AddDate(0, 1, 0), nil
	}
	d, err := time.Parse(time.DateOnly, key)
	if err != nil {
		return lo, hi, fmt.Errorf("partition %q: %w", key, err)
	}
	return d, d.AddDate(0, 0, 1), nil
}

// DefaultMinRowsPerFile is the file-size rule's target: the grain of a
// table is the finest (day, month, none) whose partitions hold on average
// at least this many rows.
const DefaultMinRowsPerFile = 10_000

// grainStats is what the file-size rule looks at.
type grainStats struct {
	rows      int64
	estimated bool // rows is the planner's estimate
	days      int  // distinct partition days (the NULL partition counts as one)
	months    int  // distinct months
}

// avg is the mean number of rows per partition at grain.
func (s grainStats) avg(grain string) float64 {
	n := 1
	switch grain {
	case grainDay:
		n = s.days
	case grainMonth:
		n = s.months
	}
	return float64(s.rows) / float64(max(n, 1))
}

var grainOrder = []string{grainDay, grainMonth, grainNone}

// chooseGrain applies the file-size rule: the finest grain whose partitions
// average at least min rows. A table already exported at prev keeps prev
// while it stays within a factor of two of the rule (prev averages at least
// min/2, and the next finer grain does not reach 2*min), so that a table
// near the threshold is not rewritten in full on every run. It returns the
// grain and a sentence for the manifest.
//
// Grains whose folder names would shadow a column of the table (allowed
// false) are skipped.
func chooseGrain(s grainStats, prev string, min int64, allowed func(string) bool) (string, string) {
	rule := grainNone
	for _, g := range grainOrder {
		if allowed(g) && s.avg(g) >= float64(min) {
			rule = g
			break
		}
	}
	grain := rule
	if prev != "" && prev != rule && allowed(prev) && s.avg(prev) >= float64(min)/2 {
		keep := true
		for i, g := range grainOrder {
			if g == prev && i > 0 && allowed(grainOrder[i-1]) && s.avg(grainOrder[i-1]) >= 2*float64(min) {
				keep = false
			}
		}
		if keep {
			grain = prev
		}
	}
	about := ""
	if s.estimated {
		about = "~"
	}
	return grain, fmt.Sprintf("auto: %s%d rows over %d days and %d months, %s%.0f rows per %s partition (target >= %d rows per file)",
		about, s.rows, s.days, s.months, about, s.avg(grain), grain, min)
}

// statsFromDays builds the rule's statistics from the day keys of a table
// (YYYY-MM-DD or nullKey) and its row count.
func statsFromDays(rows int64, days []string) grainStats {
	months := map[string]bool{}
	for _, d := range days {
		if len(d) < 7 { // nullKey, or "" for an unpartitioned table
			months[d] = true
			continue
		}
		months[d[:7]] = true
	}
	return grainStats{rows: rows, days: len(days), months: len(months)}
}

// regroup maps day keys to the keys of grain, keeping order and dropping
// duplicates.
func regroup(days []string, grain string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, d := range days {
		k := d
		switch {
		case grain == grainNone:
			k = ""
		case grain == grainMonth && d != nullKey && len(d) >= 7:
			k = d[:7]
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
