package store_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

var updateCatalog = flag.Bool("update-catalog", false, "regenerate the catalog of docs/data/README_DATA.md (scripts/api/data_catalog.py) from the migrated schema")

// TestDataReadmeCoversEveryTable: docs/data/README_DATA.md documents every
// table, view and materialized view of bronze, silver, gold and meta.
// go test ./store -run TestDataReadme -update-catalog rewrites its
// generated catalog first.
func TestDataReadmeCoversEveryTable(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	readme := filepath.Join("..", "docs", "data", "README_DATA.md")
	if *updateCatalog {
		out, err := exec.Command("python3", filepath.Join("..", "scripts", "api", "data_catalog.py"), db.URL, readme).CombinedOutput()
		if err != nil {
			t.Fatalf("data_catalog.py: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	}
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows, err := db.Pool.Query(context.Background(), `
		SELECT n.nspname || '.' || c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('bronze', 'silver', 'gold', 'meta') AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var missing []string
	n := 0
	for rows.Next() {
		var rel string
		if err := rows.Scan(&rel); err != nil {
			t.Fatal(err)
		}
		n++
		if !strings.Contains(doc, "`"+rel+"`") {
			missing = append(missing, rel)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no relations in the migrated schema")
	}
	if len(missing) > 0 {
		t.Errorf("docs/data/README_DATA.md does not document %d relation(s): %s\nrun: go test ./store -run TestDataReadme -update-catalog",
			len(missing), strings.Join(missing, ", "))
	}
}
