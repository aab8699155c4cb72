package load

import (
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/registry"
)

// TestProjectConfig checks that every source of novawh.yaml matches the
// schema registry.
func TestProjectConfig(t *testing.T) {
	t.Parallel()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := projectConfig(t)
	for _, want := range []string{"erp_requisitions", "erp_items", "inventory", "ml_forecasts", "anatel_5g"} {
		if _, ok := cfg.Sources[want]; !ok {
			t.Errorf("source %s missing from novawh.yaml", want)
		}
	}
	if err := cfg.Check(reg); err != nil {
		t.Error(err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, yaml, want string }{
		{"bad delimiter", "sources:\n  x:\n    table: bronze.erp_items\n    dialect: {delimiter: ':'}\n    columns: {item_id: [a]}\n", "dialect.delimiter"},
		{"bad encoding", "sources:\n  x:\n    table: bronze.erp_items\n    dialect: {encoding: utf-16}\n    columns: {item_id: [a]}\n", "dialect.encoding"},
		{"no table schema", "sources:\n  x:\n    table: erp_items\n    columns: {item_id: [a]}\n", "must be schema.name"},
		{"unknown key", "sources:\n  x:\n    table: bronze.erp_items\n    colums: {item_id: [a]}\n", "colums"},
		{"bad pattern", "sources:\n  x:\n    table: bronze.erp_items\n    filename_pattern: '('\n    columns: {item_id: [a]}\n", "filename_pattern"},
		{"year without month", "sources:\n  x:\n    table: bronze.telecom_5g\n    columns: {date: {year: [Ano]}}\n", "year and month go together"},
		{"unknown table", "sources:\n  x:\n    table: bronze.nope\n    columns: {item_id: [a]}\n", "not in the schema registry"},
		{"unknown column", "sources:\n  x:\n    table: bronze.erp_items\n    columns: {itemid: [a]}\n", `column "itemid" is not a column of bronze.erp_items`},
		{"ML rule without columns", "sources:\n  x:\n    table: bronze.erp_items\n    ml_metadata: true\n    columns: {item_id: [a]}\n", "ML metadata rule applies but bronze.erp_items has no column model_version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := config.Parse([]byte(c.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(f)
			if err == nil {
				err = cfg.Check(reg)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}
