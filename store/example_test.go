package store_test

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/novacorrente/novawh/store"
)

// The inventory rule on the rows of GetInventory: without an item-level
// snapshot, the sum of each site's latest one.
func ExampleInventoryOf() {
	d := func(s string) pgtype.Date {
		t, _ := time.Parse(time.DateOnly, s)
		return pgtype.Date{Time: t, Valid: true}
	}
	v := func(x float64) *float64 { return &x }
	inv, ok := store.InventoryOf([]store.GetInventoryRow{
		{SiteID: "176", Date: d("2025-05-01"), CurrentStock: v(4), ReorderPoint: v(10.46)},
		{SiteID: "22", Date: d("2025-04-15"), CurrentStock: v(7), ReorderPoint: v(6.95)},
	})
	fmt.Println(ok, inv.Level, *inv.CurrentStock, *inv.ReorderPoint, inv.LastUpdated.Time.Format(time.DateOnly))
	// Output: true sum_of_sites 11 17.41 2025-05-01
}
