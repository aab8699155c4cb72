package api_test

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestItemDemand: one point for every day (zero-filled), 7/30-day totals
// over calendar days, per site and unit; 404 unknown item; 400 bad ranges.
func TestItemDemand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	path := "/api/v1/items/" + itemPath(itemDisco) + "/demand?start=2025-04-09&end=2025-05-08"
	r := e.get(t, path)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{
		"item_id": "string", "site_id": "string", "period": map[string]any{"start": "date", "end": "date"},
		"points": []any{map[string]any{"date": "date", "quantity": "number", "lines": "integer", "total_7d": "number", "total_30d": "number"}},
	})
	m := r.json.(map[string]any)
	if m["item_id"] != itemDisco || m["site_id"] != "ALL" || m["unit"] != "UN" {
		t.Errorf("head %v %v %v", m["item_id"], m["site_id"], m["unit"])
	}
	pts := m["points"].([]any)
	if len(pts) != 30 {
		t.Fatalf("%d points for 30 days", len(pts))
	}
	byDate := map[string]map[string]any{}
	for i, p := range pts {
		pt := p.(map[string]any)
		if want := "2025-04-" + []string{"09", "10", "11", "12"}[min(i, 3)]; i < 4 && pt["date"] != want {
			t.Errorf("point %d date %v, want %s", i, pt["date"], want)
		}
		byDate[pt["date"].(string)] = pt
	}
	want := map[string][3]float64{ // quantity, total_7d, total_30d
		"2025-04-09": {0, 0, 0},
		"2025-04-10": {3, 3, 3},
		"2025-04-12": {2, 5, 5},
		"2025-04-16": {0, 5, 5}, // 04-10 is 7 days back: still in the 7-day window
		"2025-04-17": {0, 2, 5}, // 04-10 has left it
		"2025-05-01": {5, 5, 10},
		"2025-05-09": {},
	}
	for d, w := range want {
		pt, ok := byDate[d]
		if d == "2025-05-09" {
			if ok {
				t.Errorf("a point after the period: %v", pt)
			}
			continue
		}
		if !ok || pt["quantity"] != w[0] || pt["total_7d"] != w[1] || pt["total_30d"] != w[2] {
			t.Errorf("%s: %v, want quantity/7d/30d %v", d, pt, w)
		}
	}
	// 30-day totals reach before the period: 04-10's 3 still counts on 05-09.
	r = e.get(t, "/api/v1/items/"+itemPath(itemDisco)+"/demand?start=2025-05-09&end=2025-05-09")
	if p := r.json.(map[string]any)["points"].([]any)[0].(map[string]any); p["total_30d"] != float64(10) || p["quantity"] != float64(0) {
		t.Errorf("30-day total from before the period: %v", p)
	}
	// Per site, and the blank-depot site.
	r = e.get(t, "/api/v1/items/"+itemPath(itemDisco)+"/demand?start=2025-04-12&end=2025-04-12&site_id=-1")
	if p := r.json.(map[string]any)["points"].([]any)[0].(map[string]any); r.json.(map[string]any)["site_id"] != "-1" || p["quantity"] != float64(2) || p["lines"] != float64(1) {
		t.Errorf("site -1: %s", r.body)
	}
	// Mixed units: the unit with the most lines by default, the other on request.
	r = e.get(t, "/api/v1/items/"+itemPath(itemBateria)+"/demand?start=2025-04-20&end=2025-04-21")
	m = r.json.(map[string]any)
	if m["unit"] != "UN" || strings.Join(toStrings(m["units"]), ",") != "UN,CX" || m["points"].([]any)[1].(map[string]any)["quantity"] != float64(0) {
		t.Errorf("mixed units, default: %s", r.body)
	}
	r = e.get(t, "/api/v1/items/"+itemPath(itemBateria)+"/demand?start=2025-04-20&end=2025-04-21&unit=CX")
	if m = r.json.(map[string]any); m["unit"] != "CX" || m["points"].([]any)[1].(map[string]any)["quantity"] != float64(1) {
		t.Errorf("unit CX: %s", r.body)
	}
	// A known item without demand: 200, zero-filled, null unit.
	r = e.get(t, "/api/v1/items/"+itemPath(itemPercent)+"/demand?start=2025-04-01&end=2025-04-03")
	if m = r.json.(map[string]any); r.status != 200 || m["unit"] != nil || len(m["points"].([]any)) != 3 {
		t.Errorf("item without demand: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/items/NOPE/demand?start=2025-04-01&end=2025-04-03", "not_found", 404},
		{"/api/v1/items/" + itemPath(itemDisco) + "/demand?start=2025-05-01&end=2025-04-01", "invalid_range", 400},
		{"/api/v1/items/" + itemPath(itemDisco) + "/demand?start=2024-01-01&end=2025-04-01", "span_too_large", 400},
		{"/api/v1/items/" + itemPath(itemDisco) + "/demand?start=2025-04-01", "missing_parameter", 400},
		{"/api/v1/items/" + itemPath(itemDisco) + "/demand?start=2025-04-31&end=2025-05-01", "invalid_date", 400},
		{"/api/v1/items/" + itemPath(itemBateria) + "/demand?start=2025-04-15&end=2025-04-25&unit=KG", "invalid_parameter", 400},
	} {
		r := e.get(t, c.path)
		if r.status != c.status || r.json.(map[string]any)["error"].(map[string]any)["code"] != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, r.status, r.body, c.status, c.code)
		}
	}
}

func TestTopDemand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get(t, "/api/v1/demand/top?start=2025-04-01&end=2025-05-08")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{
		"period": map[string]any{"start": "date", "end": "date"},
		"items": []any{map[string]any{"item_id": "string", "name": "string", "category": "string", "quantity": "number",
			"share": "number", "previous_30d": "number", "last_30d": "number", "last_demand_date": "date"}},
	})
	items := r.json.(map[string]any)["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("%d items: %s", len(items), r.body)
	}
	// Disco 10, Prego 10, Bateria 8 (UN 7 + CX 1): ties by item id.
	first := items[0].(map[string]any)
	if first["item_id"] != itemDisco || first["quantity"] != float64(10) || math.Abs(first["share"].(float64)-10.0/28) > 1e-12 {
		t.Errorf("first %v", first)
	}
	// last_30d: 04-09..05-08 holds 3+2+5; previous_30d: 03-10..04-08 holds none.
	if first["last_30d"] != float64(10) || first["previous_30d"] != float64(0) || first["last_demand_date"] != "2025-05-01" {
		t.Errorf("windows %v", first)
	}
	share := 0.0
	for _, it := range items {
		share += it.(map[string]any)["share"].(float64)
	}
	if math.Abs(share-1) > 1e-12 {
		t.Errorf("shares sum to %v", share)
	}
	r = e.get(t, "/api/v1/demand/top?start=2025-04-01&end=2025-05-08&limit=1&category="+url.QueryEscape("MATERIAL CIVIL"))
	items = r.json.(map[string]any)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["item_id"] != itemPrego || items[0].(map[string]any)["share"] != float64(1) {
		t.Errorf("category: %s", r.body)
	}
	for _, p := range []string{"/api/v1/demand/top?start=2025-05-01&end=2025-04-01", "/api/v1/demand/top?start=2025-04-01&end=2025-05-01&limit=0", "/api/v1/demand/top"} {
		if r := e.get(t, p); r.status != 400 {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

func TestSuppliers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get(t, "/api/v1/suppliers")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{"suppliers": []any{map[string]any{
		"supplier": "string", "lines": "integer", "items": "integer", "quantity": "number",
		"lead_time_days_median": "number", "lead_time_days_p90": "number", "first_purchase": "date", "last_purchase": "date"}}})
	if n := len(r.json.(map[string]any)["suppliers"].([]any)); n != 2 {
		t.Fatalf("%d suppliers", n)
	}
	names := func(r response) string {
		var out []string
		for _, s := range r.json.(map[string]any)["suppliers"].([]any) {
			out = append(out, s.(map[string]any)["supplier"].(string))
		}
		return strings.Join(out, "|")
	}
	for q, want := range map[string]string{
		"q=silva":                               "FERRAGENS SILVA & CIA",
		"q=" + url.QueryEscape("&"):             "FERRAGENS SILVA & CIA",
		"q=%25":                                 "",
		"item_id=" + url.QueryEscape(itemPrego): "ACME LTDA",
		"item_id=" + url.QueryEscape(itemPercent):      "",
		"q=acme&item_id=" + url.QueryEscape(itemDisco): "ACME LTDA",
	} {
		if got := names(e.get(t, "/api/v1/suppliers?"+q)); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
	if r := e.get(t, "/api/v1/suppliers?item_id=NOPE"); r.status != 404 {
		t.Errorf("unknown item: %d %s", r.status, r.body)
	}
}

// TestItemsDemandKeys: /api/v1/items gains has_forecast and
// last_demand_date, and keeps its keys.
func TestItemsDemandKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get(t, "/api/v1/items?limit=1000")
	got := map[string]map[string]any{}
	for _, it := range r.json.(map[string]any)["items"].([]any) {
		m := it.(map[string]any)
		checkShape(t, "$.item", m, map[string]any{"id": "string", "name": "string", "category": "string", "sku": "string|null",
			"has_forecast": "bool", "last_demand_date": "date|null"})
		got[m["id"].(string)] = m
	}
	if d := got[itemDisco]; d["has_forecast"] != true || d["last_demand_date"] != "2025-05-01" {
		t.Errorf("disco %v", d)
	}
	if d := got[itemPercent]; d["has_forecast"] != false || d["last_demand_date"] != nil {
		t.Errorf("percent %v", d)
	}
	if d := got[itemBateria]; d["last_demand_date"] != "2025-04-21" {
		t.Errorf("bateria %v", d)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
