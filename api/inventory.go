package api

import (
	"context"
	"net/http"
	"time"

	"github.com/novacorrente/novawh/store"
)

type siteStockJSON struct {
	SiteID        string   `json:"site_id"`
	Date          string   `json:"date"`
	CurrentStock  *float64 `json:"current_stock"`
	SafetyStock   *float64 `json:"safety_stock"`
	ReorderPoint  *float64 `json:"reorder_point"`
	DaysToRupture *float64 `json:"days_to_rupture"`
	StockStatus   *string  `json:"stock_status"`
}

type inventoryResponse struct {
	ItemID        string          `json:"item_id"`
	CurrentStock  *float64        `json:"current_stock"`
	ReorderPoint  *float64        `json:"reorder_point"`
	SafetyStock   *float64        `json:"safety_stock"`
	LastUpdated   string          `json:"last_updated"`
	AsOf          string          `json:"as_of"`
	DaysToRupture *float64        `json:"days_to_rupture"`
	StockStatus   *string         `json:"stock_status"`
	Level         string          `json:"level"` // store.InventoryLevelItem or store.InventoryLevelSumOfSites
	Sites         []siteStockJSON `json:"sites"`
}

func (s *Handler) handleInventory(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	id := p.key("item id", r.PathValue("id"))
	asOf, given := p.date("date")
	if p.err != nil {
		s.fail(w, r, p.err)
		return
	}
	if !given {
		n := s.opts.Now()
		asOf = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	}
	key := "inv\x00" + id + "\x00" + asOf.Format(dateLayout)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		inv, ok, err := s.q.ItemInventory(ctx, id, pgDate(asOf))
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := s.requireItem(ctx, id); err != nil {
				return nil, err
			}
			return nil, notFound("item %q has no inventory snapshot on or before %s", id, asOf.Format(dateLayout))
		}
		return inventoryJSON(id, asOf, inv), nil
	})
}

// inventoryJSON is the body of an item's inventory (the rule is
// store.InventoryOf).
func inventoryJSON(id string, asOf time.Time, inv store.Inventory) inventoryResponse {
	out := inventoryResponse{ItemID: id, AsOf: asOf.Format(dateLayout), Level: inv.Level,
		CurrentStock: num(inv.CurrentStock), SafetyStock: num(inv.SafetyStock), ReorderPoint: num(inv.ReorderPoint),
		DaysToRupture: num(inv.DaysToRupture), StockStatus: inv.StockStatus, LastUpdated: fmtDate(inv.LastUpdated),
		Sites: make([]siteStockJSON, 0, len(inv.Sites))}
	for _, x := range inv.Sites {
		out.Sites = append(out.Sites, siteStockJSON{SiteID: x.SiteID, Date: fmtDate(x.Date), CurrentStock: num(x.CurrentStock),
			SafetyStock: num(x.SafetyStock), ReorderPoint: num(x.ReorderPoint), DaysToRupture: num(x.DaysToRupture), StockStatus: x.StockStatus})
	}
	return out
}
