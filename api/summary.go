package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/novacorrente/novawh/store"
)

type summaryJSON struct {
	TotalForecast float64  `json:"total_forecast"`
	TotalActual   float64  `json:"total_actual"`
	Mape          *float64 `json:"mape"`
	ItemsCount    int64    `json:"items_count"`
	Rows          int64    `json:"rows"`
}

type summaryMetaJSON struct {
	ModelVersion *string `json:"model_version"`
	DatasetID    *string `json:"dataset_id"`
}

type summaryResponse struct {
	Summary  summaryJSON     `json:"summary"`
	Period   periodJSON      `json:"period"`
	ItemIDs  []string        `json:"item_ids"`
	Metadata summaryMetaJSON `json:"metadata"`
}

func (s *Handler) handleSummary(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	start, end := p.period(s.opts.MaxSpanDays)
	ids := p.itemIDs(false, s.opts.MaxItemIDs)
	source := p.source()
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	key := "sum\x00" + start.Format(dateLayout) + "\x00" + end.Format(dateLayout) + "\x00" + strings.Join(ids, "\x01") + "\x00" + deref(source)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		if err := s.requireItems(ctx, ids); err != nil {
			return nil, err
		}
		row, err := s.q.ForecastSummary(ctx, store.ForecastSummaryParams{StartDate: pgDate(start), EndDate: pgDate(end), ItemIds: ids, Source: source})
		if err != nil {
			return nil, fmt.Errorf("forecast summary: %w", err)
		}
		if ids == nil {
			ids = []string{}
		}
		return summaryResponse{
			Summary: summaryJSON{TotalForecast: finite(row.TotalForecast), TotalActual: finite(row.TotalActual), Mape: num(row.Mape),
				ItemsCount: row.ItemsCount, Rows: row.RowsCount},
			Period:   period(start, end),
			ItemIDs:  ids,
			Metadata: summaryMetaJSON{ModelVersion: row.ModelVersion, DatasetID: row.DatasetID},
		}, nil
	})
}
