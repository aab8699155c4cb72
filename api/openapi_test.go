package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// TestOpenAPISpecMatchesResponses validates the real responses of every
// endpoint of api/openapi.yaml, success and error cases, against the spec
// with kin-openapi (status, headers and bodies; additionalProperties:
// false everywhere, so an undocumented key fails too), and checks that
// every operation of the spec was exercised and the spec served at
// /api/v1/openapi.json is the embedded one.
func TestOpenAPISpecMatchesResponses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the spec is not valid OpenAPI 3: %v", err)
	}
	doc.Servers = nil // match any host (the test server's)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) { o.APIToken = "tok"; o.Refresher = newSQLRefresher(db.Pool) })
	tok := map[string]string{"X-API-Key": "tok"}
	bat := itemPath(itemBateria)
	period := "start=" + seedStart + "&end=" + seedEnd
	type call struct {
		method, path string
		header       map[string]string
		body         string
		status       int
	}
	calls := []call{
		{"GET", "/api/v1/items?limit=5&q=a", nil, "", 200},
		{"GET", "/api/v1/items?limit=0", nil, "", 400},
		{"GET", "/api/v1/items?q=ITEM%ZZ", nil, "", 400},
		{"GET", "/api/v1/items/" + bat + "/timeseries?" + period, nil, "", 200},
		{"GET", "/api/v1/items/" + bat + "/timeseries?" + period + "&source=ensemble", nil, "", 200},
		{"GET", "/api/v1/items/" + itemPath(itemPercent) + "/timeseries?" + period, nil, "", 200}, // null metadata
		{"GET", "/api/v1/items/NOPE/timeseries?" + period, nil, "", 404},
		{"GET", "/api/v1/items/" + bat + "/timeseries?start=2025-05-02&end=2025-05-01", nil, "", 400},
		{"GET", "/api/v1/items/" + bat + "/demand?" + period, nil, "", 200},
		{"GET", "/api/v1/items/" + bat + "/demand?" + period + "&unit=CX&site_id=ALL", nil, "", 200},
		{"GET", "/api/v1/items/" + itemPath(itemPercent) + "/demand?" + period, nil, "", 200}, // null unit
		{"GET", "/api/v1/items/NOPE/demand?" + period, nil, "", 404},
		{"GET", "/api/v1/items/" + bat + "/demand?start=2024-01-01&end=2025-05-01", nil, "", 400},
		{"GET", "/api/v1/demand/top?" + period, nil, "", 200},
		{"GET", "/api/v1/demand/top?" + period + "&limit=2&category=ABRASIVOS", nil, "", 200},
		{"GET", "/api/v1/demand/top?start=2025-04-01", nil, "", 400},
		{"GET", "/api/v1/suppliers", nil, "", 200},
		{"GET", "/api/v1/suppliers?q=acme&item_id=" + url.QueryEscape(itemDisco), nil, "", 200},
		{"GET", "/api/v1/suppliers?item_id=NOPE", nil, "", 404},
		{"GET", "/api/v1/forecasts/summary?" + period, nil, "", 200},
		{"GET", "/api/v1/forecasts/summary?" + period + "&item_ids=" + url.QueryEscape(itemBateria) + "&item_id=" + url.QueryEscape(itemSarrafo), nil, "", 200},
		{"GET", "/api/v1/forecasts/summary?start=2020-01-01&end=2020-01-31", nil, "", 200}, // null mape
		{"GET", "/api/v1/forecasts/summary?" + period + "&item_ids=NOPE", nil, "", 404},
		{"GET", "/api/v1/forecasts/summary?" + period + "&item_ids=,,,", nil, "", 400},
		{"GET", "/api/v1/aggregates?window=30&" + period + "&item_ids=" + url.QueryEscape(itemBateria), nil, "", 200},
		{"GET", "/api/v1/aggregates?window=7d&" + period + "&item_id=" + url.QueryEscape(itemDisco), nil, "", 200},
		{"GET", "/api/v1/aggregates?window=14&" + period + "&item_ids=X", nil, "", 400},
		{"GET", "/api/v1/aggregates?window=7&" + period + "&item_ids=NOPE", nil, "", 404},
		{"GET", "/api/v1/inventory/" + bat + "?date=2025-06-01", nil, "", 200},
		{"GET", "/api/v1/inventory/" + itemPath(itemDisco) + "?date=2025-05-08", nil, "", 200},
		{"GET", "/api/v1/inventory/NOPE", nil, "", 404},
		{"GET", "/api/v1/inventory/" + bat + "?date=yesterday", nil, "", 400},
		{"POST", "/api/v1/data/refresh", nil, `{}`, 401},
		{"POST", "/api/v1/data/refresh", tok, `{"sauce":1}`, 400},
		{"POST", "/api/v1/data/refresh", tok, `{"source":"ml_results","force":false}`, 202},
		{"GET", "/api/v1/data/refresh", tok, "", 200},
		{"GET", "/api/v1/data/refresh", nil, "", 401},
		{"GET", "/api/v1/data/refresh/rf_nope", tok, "", 404},
		{"GET", "/health", nil, "", 200},
		{"GET", "/health", map[string]string{"Authorization": "Bearer tok"}, "", 200},
		{"GET", "/health", map[string]string{"X-API-Key": "nope"}, "", 401},
		{"GET", "/api/v1/openapi.json", nil, "", 200},
	}
	covered := map[string]bool{}
	var jobID string
	check := func(t *testing.T, c call) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, c.method, e.http.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		res, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != c.status {
			t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, res.StatusCode, c.status, body)
		}
		// The router matches the decoded path; the request sent was the raw one.
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: no operation of the spec: %v", c.method, c.path, err)
		}
		covered[c.method+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if c.status < 300 {
			req.Body = io.NopCloser(strings.NewReader(c.body))
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				t.Errorf("%s %s: the request does not match the spec: %v", c.method, c.path, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s %s (%d): the response does not match the spec: %v\n%s", c.method, c.path, res.StatusCode, err, body)
		}
		return body
	}
	for _, c := range calls {
		body := check(t, c)
		if c.status == 202 {
			var acc map[string]any
			_ = json.Unmarshal(body, &acc)
			jobID = acc["job_id"].(string)
			waitJob(t, e, jobID, "tok")
		}
	}
	check(t, call{"GET", "/api/v1/data/refresh/" + jobID, tok, "", 200})
	check(t, call{"POST", "/api/v1/data/refresh", map[string]string{"X-API-Key": "tok"}, `{"source":"ml_results"}`, 202})
	metrics, err := http.Get(e.http.URL + "/metrics")
	if err == nil {
		metrics.Body.Close()
		covered["GET /metrics"] = metrics.StatusCode == 200 && strings.HasPrefix(metrics.Header.Get("Content-Type"), "text/plain")
	}

	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations of the spec never exercised: %v", missing)
	}

	// The served JSON is the embedded YAML.
	r := e.get(t, "/api/v1/openapi.json")
	served, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil || served.Info.Title != doc.Info.Title || len(served.Paths.Map()) != len(doc.Paths.Map()) {
		t.Errorf("served spec: %v", err)
	}
}
