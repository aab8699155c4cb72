package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// novawh export end to end: text and JSON output, incremental re-run,
// usage errors (exit 2) and the config file's export section.
func TestExportCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(t.Context(), `
		INSERT INTO gold.dim_site (site_id, deposito) VALUES ('176', 'STC');
		INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock) VALUES
			('2025-04-09', 'ABRASIVOS_BATERIA 9V', '176', 3), ('2025-04-10', 'ABRASIVOS_BATERIA 9V', '176', 2)`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := run("export", "--database-url", db.URL, "--to", dir, "--tables", "dim_site,gold.fact_inventory", "--partition-by", "day")
	if code != 0 || !strings.Contains(out, "gold.fact_inventory") || !strings.Contains(out, "2 files written") ||
		!strings.Contains(out, "gold   published: "+filepath.Join(dir, "gold", "_manifest.json")) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, p := range []string{"gold/_manifest.json", "gold/dim_site/part-00000.parquet", "gold/fact_inventory/date=2025-04-10/part-00000.parquet",
		"gold/fact_inventory/_manifest.json", "gold/fact_inventory/_SUCCESS"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut = run("export", "--database-url", db.URL, "--to", dir, "--tables", "dim_site,fact_inventory", "--partition-by", "day", "--json")
	var res struct {
		Tables []struct {
			Table, Mode string
		} `json:"tables"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Tables) != 2 || res.Tables[1].Mode != "unchanged" {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}

	cfg := filepath.Join(t.TempDir(), "novawh.yaml")
	if err := os.WriteFile(cfg, []byte("export:\n  to: "+dir+"-month\n  partition_by: month\n  tables: [fact_inventory]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = run("export", "--database-url", db.URL, "--config", cfg); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir+"-month", "gold/fact_inventory/month=2025-04/part-00000.parquet")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--partition-by", "week"}, "partition-by must be auto, day, month or none"},
		{[]string{"--compression", "lz4"}, "compression must be snappy or zstd"},
		{[]string{"--layers", "silver", "--tables", "fact_forecast"}, `table "fact_forecast" is not an exported table`},
		{[]string{"--layers", "lead"}, `layer "lead": want bronze, silver, gold`},
		{[]string{"--bucket", "gold"}, `--bucket "gold": want LAYER=NAME`},
		{[]string{"--to", "ftp://x"}, "want a folder or s3://bucket/prefix"},
		{[]string{"extra"}, "unknown command"},
	} {
		code, _, errOut := run(append([]string{"export", "--database-url", db.URL, "--to", dir}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}
