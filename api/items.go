package api

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"github.com/novacorrente/novawh/store"
)

type itemJSON struct {
	ID       string  `json:"id"`
	Name     *string `json:"name"`
	Category *string `json:"category"`
	SKU      *string `json:"sku"`
	// HasForecast: the item has item-level forecasts; LastDemandDate: its
	// last day of item-level demand (null: none).
	HasForecast    bool    `json:"has_forecast"`
	LastDemandDate *string `json:"last_demand_date"`
}

type itemsResponse struct {
	Items  []itemJSON `json:"items"`
	Total  int64      `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

func (s *Handler) handleItems(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	limit := p.integer("limit", DefaultPageSize, 1, s.opts.MaxPageSize)
	offset := p.integer("offset", 0, 0, math.MaxInt32)
	text := p.text("q", "")
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	var pattern *string
	if text != "" {
		lp := likePattern(text)
		pattern = &lp
	}
	key := fmt.Sprintf("items\x00%d\x00%d\x00%s", limit, offset, deref(pattern))
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		arg := store.ListItemsParams{Pattern: pattern, PageLimit: int32(limit), PageOffset: int32(offset)}
		rows, err := s.q.ListItems(ctx, arg)
		if err != nil {
			return nil, fmt.Errorf("list items: %w", err)
		}
		total, err := s.q.CountItems(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("count items: %w", err)
		}
		out := itemsResponse{Items: make([]itemJSON, 0, len(rows)), Total: total, Limit: limit, Offset: offset}
		for _, it := range rows {
			out.Items = append(out.Items, itemJSON{ID: it.ItemID, Name: it.Name, Category: it.Category, SKU: it.Sku,
				HasForecast: it.HasForecast, LastDemandDate: optDate(it.LastDemandDate)})
		}
		return out, nil
	})
}
