// Package benchdata writes deterministic data sets in the company's file
// shapes at any scale, for benchmarks: ML forecasts (one row per item,
// site, source and day), the ERP requisition export (about
// Scale.LinesPerItemDay lines per item and day, Portuguese headers) and
// inventory snapshots. Every figure is a function of its key (item, site,
// day, ...), so a file of one new day holds exactly that day of the
// history a larger file would hold, and the same Scale always gives the
// same bytes.
//
//	s := benchdata.Scale{Items: 3000, Days: 1096}
//	n, err := benchdata.WriteERP(f, s, 0, s.Days) // ~3M lines
//	_, err = benchdata.WriteERP(g, s, s.Days, s.Days+1) // the next day
//
// The refresh benchmark uses it; so can `make bench-scale` (~50M forecast
// rows: Items x Sites x Sources x Days) and the API and export benchmarks.
// The files load with the project's novawh.yaml sources ml_forecasts,
// erp_requisitions and inventory.
package benchdata
