package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/novacorrente/novawh/store"
)

type aggregateJSON struct {
	ItemID        string   `json:"item_id"`
	Date          string   `json:"date"`
	Source        string   `json:"source"`
	Forecast      *float64 `json:"forecast"`
	Actual        *float64 `json:"actual"`
	ForecastAvg   *float64 `json:"forecast_avg"`
	ActualAvg     *float64 `json:"actual_avg"`
	ForecastTotal *float64 `json:"forecast_total"`
	ActualTotal   *float64 `json:"actual_total"`
	Mape          *float64 `json:"mape"`
}

type aggregatesResponse struct {
	Window     int             `json:"window"`
	Period     periodJSON      `json:"period"`
	ItemIDs    []string        `json:"item_ids"`
	Aggregates []aggregateJSON `json:"aggregates"`
}

func (s *Handler) handleAggregates(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	ids := p.itemIDs(true, s.opts.MaxItemIDs)
	window := store.Window7
	if raw := p.q.Get("window"); raw != "" && p.err == nil {
		n, err := strconv.Atoi(strings.TrimSuffix(raw, "d"))
		if err != nil || (n != store.Window7 && n != store.Window30) {
			p.err = badRequest(CodeInvalidWindow, "window must be 7 or 30, not %q", truncate(raw, 20))
		}
		window = n
	}
	start, end := p.period(s.opts.MaxSpanDays)
	source := p.source()
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	key := fmt.Sprintf("agg\x00%d\x00%s\x00%s\x00%s\x00%s", window, start.Format(dateLayout), end.Format(dateLayout), strings.Join(ids, "\x01"), deref(source))
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		if err := s.requireItems(ctx, ids); err != nil {
			return nil, err
		}
		rows, err := s.q.GetAggregate(ctx, store.GetAggregateParams{ItemIds: ids, StartDate: pgDate(start), EndDate: pgDate(end), Source: source})
		if err != nil {
			return nil, fmt.Errorf("aggregates: %w", err)
		}
		out := aggregatesResponse{Window: window, Period: period(start, end), ItemIDs: ids, Aggregates: make([]aggregateJSON, 0, len(rows))}
		for _, a := range rows {
			w, err := a.Window(window)
			if err != nil {
				return nil, err
			}
			out.Aggregates = append(out.Aggregates, aggregateJSON{ItemID: a.ItemID, Date: fmtDate(a.Date), Source: a.Source,
				Forecast: num(a.Forecast), Actual: num(a.Actual), ForecastAvg: num(w.ForecastAvg), ActualAvg: num(w.ActualAvg),
				ForecastTotal: num(w.ForecastTotal), ActualTotal: num(w.ActualTotal), Mape: num(w.Mape)})
		}
		return out, nil
	})
}
