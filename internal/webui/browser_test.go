package webui_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/cli"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/serve"
	"github.com/novacorrente/novawh/internal/webui"
)

// trickyItem has a name with a double quote, a slash and a '<': the pages
// must show it literally.
const (
	trickyItem = `ABRASIVOS_TESTE "A/B" <C>`
	trickyName = `TESTE "A/B" <C>`
)

func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH: the browser test needs Debian's chromium (apt-get install -y chromium)")
	return ""
}

// TestPagesInABrowser loads the samples with the real nightly job, serves
// the pages and the API as `novawh serve` does (read-only role), and drives
// headless Chromium through /, /items, one /items/{id} and one /runs/{id}:
// charts have drawn points, the freshness table names every source, a
// name with " / < shows literally, a material without demand or MAPE says so, the
// console has no errors. Screenshots
// go to NOVAWH_SCREENSHOTS_DIR (make screenshots) or the test's temp dir.
func TestPagesInABrowser(t *testing.T) {
	t.Parallel()
	chrome := browser(t)
	ctx := context.Background()
	db := pgtest.New(t)
	samples := filepath.Join("..", "..", "data", "raw", "samples")
	var out, errb bytes.Buffer
	if code := cli.Run(ctx, []string{"run", "--offline", "--skip-export", "--inputs-dir", samples, "--database-url", db.URL, "--log-file", ""}, &out, &errb); code != 0 {
		t.Fatalf("novawh run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var first, last time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT min(date), max(date) FROM gold.fact_forecast WHERE site_id = 'ALL'`).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_item (item_id, name, category, familia) VALUES ($1, $2, 'ABRASIVOS', 'ABRASIVOS')`, trickyItem, trickyName); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id)
		SELECT $2::date - g, $1, 'ALL', 'ensemble', 5 + g % 4, 4 + g % 3, 4, 7, 'v1', now(), 'd1' FROM generate_series(0, 59) g`, trickyItem, last); err != nil {
		t.Fatal(err)
	}
	var sources []string
	rows, err := db.Pool.Query(ctx, `SELECT DISTINCT source FROM meta.loads ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		sources = append(sources, s)
	}
	rows.Close()
	var runID int64
	if err := db.Pool.QueryRow(ctx, `SELECT max(run_id) FROM meta.runs`).Scan(&runID); err != nil || len(sources) < 3 {
		t.Fatalf("run %d, sources %v: %v", runID, sources, err)
	}

	reader, ui := readerUI(t, db, webui.Options{})
	h, err := api.New(reader, api.Options{RequestTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve.Serve(sctx, ln, h, serve.ServeOptions{UI: ui}) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.WindowSize(1280, 1000))
	// A browser that hangs fails this test, with the pages' state, before
	// go test's own timeout kills the whole binary.
	bctxParent := ctx
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		bctxParent, cancel = context.WithDeadline(ctx, d.Add(-time.Minute))
		defer cancel()
	}
	actx, cancelA := chromedp.NewExecAllocator(bctxParent, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	var mu sync.Mutex
	var consoleErrors []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				consoleErrors = append(consoleErrors, fmt.Sprintf("console.error %v", e.Args))
			}
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, "exception "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry != nil && e.Entry.Level == cdplog.EntryLevelError {
				consoleErrors = append(consoleErrors, "log "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	shots := os.Getenv("NOVAWH_SCREENSHOTS_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	open := func(url, wait string) {
		t.Helper()
		must("open "+url, chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(wait)))
	}
	eval := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](js))
		must(js, err)
		return n
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		must("text of "+sel, err)
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		must("screenshot", err)
		must("save screenshot", os.WriteFile(filepath.Join(shots, name), png, 0o644))
	}

	// Overview: the freshness table names every source; runs are linked.
	open(base+"/", "#freshness")
	freshness := text("#freshness")
	for _, s := range sources {
		if !strings.Contains(freshness, s) {
			t.Errorf("freshness table lacks source %s: %q", s, freshness)
		}
	}
	if n := eval(`document.querySelectorAll('#runs a[href^="/runs/"]').length`); n == 0 {
		t.Errorf("no run linked from the overview")
	}
	shot("overview.png")

	// Items: the tricky name, literally.
	open(base+"/items?q=TESTE", "#items")
	names, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#items td.name')].map(e => e.textContent)`))
	must("item names", err)
	if len(names) != 1 || names[0] != trickyName {
		t.Errorf("items page shows %q, want %q", names, trickyName)
	}

	// One item, reached by its link: charts with drawn points, the name
	// literally, links to the API.
	must("follow the item link", chromedp.Do(bctx, chromedp.Click("#items td a"), chromedp.WaitVisible("#chart-forecast circle.point")))
	if got := text("#item-name"); got != trickyName {
		t.Errorf("item title %q, want %q", got, trickyName)
	}
	points := eval(`document.querySelectorAll('#chart-forecast circle.point').length`)
	lines := eval(`document.querySelectorAll('#chart-forecast polyline.forecast').length`)
	links := eval(`document.querySelectorAll('p.api a[href^="/api/v1/"]').length`)
	if points < 30 || lines == 0 || links < 3 {
		t.Errorf("item page: %d actual points, %d forecast lines, %d API links", points, lines, links)
	}
	// It has no demand and no rolling figures: the page says so instead of
	// drawing empty charts.
	if n := eval(`document.querySelectorAll('#chart-demand, #chart-mape').length`); n != 0 {
		t.Errorf("item without demand and MAPE: %d demand/MAPE charts", n)
	}
	if got := text("#no-mape"); !strings.Contains(got, "No MAPE") {
		t.Errorf("item without MAPE: %q", got)
	}
	if got := text("#no-demand"); !strings.Contains(got, "no requisition") {
		t.Errorf("item without demand: %q", got)
	}
	shot("item-escaping.png")

	// A real material of the samples (the most forecast days): the
	// screenshot of docs/.
	var real string
	if err := db.Pool.QueryRow(ctx, `SELECT item_id FROM gold.fact_forecast WHERE site_id = 'ALL' AND item_id <> $1
		GROUP BY item_id ORDER BY count(*) DESC, item_id LIMIT 1`, trickyItem).Scan(&real); err != nil {
		t.Fatal(err)
	}
	open(base+"/items/"+url.PathEscape(real), "#chart-forecast circle.point")
	if n := eval(`document.querySelectorAll('#chart-forecast polyline').length`); n < 2 {
		t.Errorf("%s: %d lines in the forecast chart (forecast and rolling averages)", real, n)
	}
	shot("item.png")

	// One run: its steps.
	open(fmt.Sprintf("%s/runs/%d", base, runID), "#steps")
	if n := eval(`document.querySelectorAll('#steps tr').length - 1`); n < 4 {
		t.Errorf("run %d shows %d steps", runID, n)
	}
	shot("run.png")
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("browser console errors: %v", consoleErrors)
	}
	t.Logf("screenshots in %s", shots)
}
