package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/novacorrente/novawh/store"
)

type demandPointJSON struct {
	Date     string  `json:"date"`
	Quantity float64 `json:"quantity"`
	Lines    int32   `json:"lines"`
	Total7d  float64 `json:"total_7d"`
	Total30d float64 `json:"total_30d"`
}

type demandResponse struct {
	ItemID string  `json:"item_id"`
	SiteID string  `json:"site_id"`
	Unit   *string `json:"unit"` // null when the item has no demand at the site in the window
	// Units lists every unit the item's demand is recorded in at the site
	// in the period and the 29 days before it (U.M. is part of
	// gold.fact_demand's key), the default one first.
	Units  []string          `json:"units"`
	Period periodJSON        `json:"period"`
	Points []demandPointJSON `json:"points"`
}

// handleItemDemand: GET /api/v1/items/{id}/demand?start=&end=[&site_id=][&unit=]
func (s *Handler) handleItemDemand(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	id := p.key("item id", r.PathValue("id"))
	start, end := p.period(s.opts.MaxSpanDays)
	site := p.text("site_id", store.ItemLevelSite)
	unit := p.text("unit", "")
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	key := "demand\x00" + id + "\x00" + site + "\x00" + unit + "\x00" + start.Format(dateLayout) + "\x00" + end.Format(dateLayout)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		ds, err := s.q.ItemDemand(ctx, id, site, unit, start, end)
		if err != nil {
			return nil, err
		}
		out := demandResponse{ItemID: id, SiteID: site, Units: ds.Units, Period: period(start, end), Points: make([]demandPointJSON, 0, len(ds.Points))}
		if ds.Unit != "" {
			out.Unit = &ds.Unit
		}
		switch {
		case len(ds.Units) == 0:
			// No demand in the window: a 404 if the item is unknown.
			if err := s.requireItem(ctx, id); err != nil {
				return nil, err
			}
		case unit != "" && !slices.Contains(ds.Units, unit):
			return nil, badRequest(CodeInvalidParameter, "item %q has no demand in unit %q at site %q in %s..%s or the %d days before (units: %s)",
				id, unit, site, start.Format(dateLayout), end.Format(dateLayout), store.DemandWindowDays, strings.Join(ds.Units, ", "))
		}
		for _, p := range ds.Points {
			out.Points = append(out.Points, demandPointJSON{Date: fmtDate(pgDate(p.Date)), Quantity: p.Quantity, Lines: p.Lines,
				Total7d: p.Total7d, Total30d: p.Total30d})
		}
		return out, nil
	})
}

type topItemJSON struct {
	ItemID         string  `json:"item_id"`
	Name           *string `json:"name"`
	Category       *string `json:"category"`
	Quantity       float64 `json:"quantity"`
	Share          float64 `json:"share"`
	Previous30d    float64 `json:"previous_30d"`
	Last30d        float64 `json:"last_30d"`
	LastDemandDate *string `json:"last_demand_date"`
}

type topDemandResponse struct {
	Period   periodJSON    `json:"period"`
	Category *string       `json:"category"`
	Items    []topItemJSON `json:"items"`
}

// DefaultTopLimit is the default limit of GET /api/v1/demand/top.
const DefaultTopLimit = 20

// handleTopDemand: GET /api/v1/demand/top?start=&end=[&limit=20][&category=]
func (s *Handler) handleTopDemand(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	start, end := p.period(s.opts.MaxSpanDays)
	limit := p.integer("limit", DefaultTopLimit, 1, s.opts.MaxPageSize)
	category := p.text("category", "")
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	var cat *string
	if category != "" {
		cat = &category
	}
	key := fmt.Sprintf("top\x00%s\x00%s\x00%d\x00%s", start.Format(dateLayout), end.Format(dateLayout), limit, category)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		rows, err := s.q.TopDemand(ctx, store.TopDemandParams{StartDate: pgDate(start), EndDate: pgDate(end), Category: cat, TopLimit: int32(limit)})
		if err != nil {
			return nil, fmt.Errorf("top demand: %w", err)
		}
		out := topDemandResponse{Period: period(start, end), Category: cat, Items: make([]topItemJSON, 0, len(rows))}
		for _, t := range rows {
			out.Items = append(out.Items, topItemJSON{ItemID: t.ItemID, Name: t.Name, Category: t.Category, Quantity: finite(t.Quantity),
				Share: finite(t.Share), Previous30d: finite(t.Previous30d), Last30d: finite(t.Last30d), LastDemandDate: optDate(t.LastDemandDate)})
		}
		return out, nil
	})
}

type supplierJSON struct {
	Supplier           string   `json:"supplier"`
	Lines              int32    `json:"lines"`
	Items              int32    `json:"items"`
	Quantity           float64  `json:"quantity"`
	LeadTimeDaysMedian *float64 `json:"lead_time_days_median"`
	LeadTimeDaysP90    *float64 `json:"lead_time_days_p90"`
	FirstPurchase      *string  `json:"first_purchase"`
	LastPurchase       *string  `json:"last_purchase"`
}

type suppliersResponse struct {
	Suppliers []supplierJSON `json:"suppliers"`
}

// handleSuppliers: GET /api/v1/suppliers?[q=][&item_id=]
func (s *Handler) handleSuppliers(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	text := p.text("q", "")
	item := p.text("item_id", "")
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	var pattern, itemID *string
	if text != "" {
		p := likePattern(text)
		pattern = &p
	}
	if item != "" {
		itemID = &item
	}
	key := "suppliers\x00" + text + "\x00" + item
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		if itemID != nil {
			if err := s.requireItem(ctx, item); err != nil {
				return nil, err
			}
		}
		rows, err := s.q.ListSuppliers(ctx, store.ListSuppliersParams{Pattern: pattern, ItemID: itemID, MaxRows: int32(s.opts.MaxPageSize)})
		if err != nil {
			return nil, fmt.Errorf("suppliers: %w", err)
		}
		out := suppliersResponse{Suppliers: make([]supplierJSON, 0, len(rows))}
		for _, x := range rows {
			out.Suppliers = append(out.Suppliers, supplierJSON{Supplier: x.Supplier, Lines: x.Lines, Items: x.Items, Quantity: finite(x.Quantity),
				LeadTimeDaysMedian: num(x.LeadTimeDaysMedian), LeadTimeDaysP90: num(x.LeadTimeDaysP90),
				FirstPurchase: optDate(x.FirstPurchase), LastPurchase: optDate(x.LastPurchase)})
		}
		return out, nil
	})
}
