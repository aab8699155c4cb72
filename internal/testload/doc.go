// Package testload loads files into bronze for tests the way `novawh load`
// does: through the real loader (internal/load) with the project's own
// novawh.yaml, so a test of what comes after bronze (refresh, checks, API,
// export) starts from rows the loader really writes.
//
//	testload.Files(t, pool, "erp_requisitions", realdata.Path(t, "docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv"))
//
// ML outputs without metadata columns get fixed metadata (MLMeta).
package testload
