package registry_test

import (
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/registry"
)

func TestDefaultRegistryIsValid(t *testing.T) {
	t.Parallel()
	r, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bronze.ml_forecasts", "gold.fact_forecast", "gold.dim_item", "meta.loads"} {
		if _, ok := r.Lookup(want); !ok {
			t.Errorf("registry lacks %s", want)
		}
	}
	// The plan's hard rule: ML result tables carry the four metadata columns.
	for _, name := range []string{"bronze.ml_forecasts", "gold.fact_forecast"} {
		tab, _ := r.Lookup(name)
		if !tab.MLResult {
			t.Errorf("%s is not flagged ml_result", name)
		}
		for _, m := range registry.MLMetadataColumns {
			c, ok := tab.Column(m)
			if !ok || !c.MLMetadata || c.Nullable {
				t.Errorf("%s.%s must exist, be flagged ml_metadata and be NOT NULL", name, m)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const head = `{"version": 1, "ml_metadata_columns": ["model_version","generated_at","source","dataset_id"], "layers": {"bronze": {`
	cases := []struct {
		name, doc, want string
	}{
		{"syntax error with position", "{\n  \"version\": 1,\n  oops\n}", "x.json:3:"},
		{"unknown type", head + `"t": {"columns": [{"name": "a", "type": "varchar", "nullable": true}]}}}}`, `bronze.t.a: unknown type "varchar"`},
		{"unknown layer", `{"version": 1, "ml_metadata_columns": ["model_version","generated_at","source","dataset_id"], "layers": {"platinum": {}}}`, `unknown layer "platinum"`},
		{"key not a column", head + `"t": {"primary_key": ["b"], "columns": [{"name": "a", "type": "int", "nullable": false}]}}}}`, `bronze.t: key column "b" is not a column`},
		{"ml table lacks metadata", head + `"t": {"ml_result": true, "columns": [{"name": "a", "type": "int", "nullable": false}]}}}}`, `lacks ML metadata column "model_version"`},
		{"range on text", head + `"t": {"columns": [{"name": "a", "type": "string", "nullable": false, "min": 0}]}}}}`, `min/max only apply to numeric columns`},
		{"min above max", head + `"t": {"columns": [{"name": "a", "type": "float", "nullable": false, "min": 5, "max": 1}]}}}}`, `min 5 > max 1`},
		{"unknown field", head + `"t": {"colums": []}}}}`, `unknown field "colums"`},
		{"duplicate column", head + `"t": {"columns": [{"name": "a", "type": "int", "nullable": false}, {"name": "a", "type": "int", "nullable": false}]}}}}`, `bronze.t.a: duplicate column`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := registry.Parse([]byte(tc.doc), "x.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
