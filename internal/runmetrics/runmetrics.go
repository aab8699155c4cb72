// Package runmetrics is the one definition of the nightly run's Prometheus
// series: GET /metrics of the API reads them from meta.runs, and
// `novawh run --metrics-file` writes the same series for cron users as a
// node-exporter textfile (atomically: a temporary file renamed over the
// target, so the collector never reads half a file).
package runmetrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Run is the outcome of one nightly run.
type Run struct {
	Status    string // meta.runs status: ok, failed, quality_failed, abandoned, running
	Trigger   string // cli, schedule or api
	StartedAt time.Time
	Duration  time.Duration
}

// StatusOK is the status of a successful run.
const StatusOK = "ok"

var (
	lastStatus  = prometheus.NewDesc("novawh_run_last_status", "1 for the status of the newest nightly run (meta.runs), by status.", []string{"status", "trigger"}, nil)
	lastSuccess = prometheus.NewDesc("novawh_run_last_success", "1 when the newest nightly run succeeded (status ok), else 0.", nil, nil)
	lastTime    = prometheus.NewDesc("novawh_run_last_duration_seconds", "Duration of the newest nightly run (so far, while running).", nil, nil)
	lastStart   = prometheus.NewDesc("novawh_run_last_start_timestamp_seconds", "Unix time the newest nightly run started.", nil, nil)
)

// Describe sends the run series' descriptions.
func Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lastStatus, lastSuccess, lastTime, lastStart} {
		ch <- d
	}
}

// Collect sends the series of r.
func Collect(ch chan<- prometheus.Metric, r Run) {
	ok := 0.0
	if r.Status == StatusOK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(lastStatus, prometheus.GaugeValue, 1, r.Status, r.Trigger)
	ch <- prometheus.MustNewConstMetric(lastSuccess, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(lastTime, prometheus.GaugeValue, r.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(lastStart, prometheus.GaugeValue, float64(r.StartedAt.UnixMilli())/1000)
}

type collector struct{ r Run }

func (c collector) Describe(ch chan<- *prometheus.Desc) { Describe(ch) }
func (c collector) Collect(ch chan<- prometheus.Metric) { Collect(ch, c.r) }

// WriteTextfile writes the series of r to path in the text exposition
// format (node-exporter's textfile collector reads *.prom files of its
// folder), atomically.
func WriteTextfile(path string, r Run) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector{r}); err != nil {
		return fmt.Errorf("run metrics: %w", err)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write run metrics to %s: %w", path, err)
	}
	return nil
}
