package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/novacorrente/novawh/store"
)

type pointJSON struct {
	Date         string   `json:"date"`
	Forecast     *float64 `json:"forecast"`
	Actual       *float64 `json:"actual"`
	Lower        *float64 `json:"lower"`
	Upper        *float64 `json:"upper"`
	Mape         *float64 `json:"mape"`
	Source       string   `json:"source"`
	ModelVersion string   `json:"model_version"`
	DatasetID    string   `json:"dataset_id"`
	GeneratedAt  string   `json:"generated_at"`
}

type seriesMetaJSON struct {
	ModelVersion *string `json:"model_version"`
	DatasetID    *string `json:"dataset_id"`
	GeneratedAt  *string `json:"generated_at"`
}

type timeseriesResponse struct {
	ItemID     string         `json:"item_id"`
	Period     periodJSON     `json:"period"`
	Timeseries []pointJSON    `json:"timeseries"`
	Metadata   seriesMetaJSON `json:"metadata"`
}

func (s *Handler) handleTimeseries(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	id := p.key("item id", r.PathValue("id"))
	start, end := p.period(s.opts.MaxSpanDays)
	source := p.source()
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	key := "ts\x00" + id + "\x00" + start.Format(dateLayout) + "\x00" + end.Format(dateLayout) + "\x00" + deref(source)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		rows, err := s.q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: id, StartDate: pgDate(start), EndDate: pgDate(end), Source: source})
		if err != nil {
			return nil, fmt.Errorf("timeseries of %q: %w", id, err)
		}
		if len(rows) == 0 {
			if err := s.requireItem(ctx, id); err != nil {
				return nil, err
			}
		}
		out := timeseriesResponse{ItemID: id, Period: period(start, end), Timeseries: make([]pointJSON, 0, len(rows))}
		// A series' points mostly share one generated_at: format it once.
		var gen pgtype.Timestamptz
		var genText string
		for _, p := range rows {
			if p.GeneratedAt != gen || genText == "" {
				gen, genText = p.GeneratedAt, fmtTime(p.GeneratedAt)
			}
			out.Timeseries = append(out.Timeseries, pointJSON{
				Date: fmtDate(p.Date), Forecast: num(p.Forecast), Actual: num(p.Actual), Lower: num(p.Lower), Upper: num(p.Upper),
				Mape: num(p.Mape), Source: p.Source, ModelVersion: p.ModelVersion, DatasetID: p.DatasetID, GeneratedAt: genText,
			})
		}
		if p, ok := store.NewestGenerated(rows); ok {
			g := fmtTime(p.GeneratedAt)
			out.Metadata = seriesMetaJSON{ModelVersion: &p.ModelVersion, DatasetID: &p.DatasetID, GeneratedAt: &g}
		}
		return out, nil
	})
}
