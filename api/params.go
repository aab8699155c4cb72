package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	dateLayout = "2006-01-02"
	// maxKeyBytes bounds item ids and other text keys taken from requests.
	maxKeyBytes = 512
)

// params reads a request's parameters: each read after a bad one returns
// zero values, and err keeps the first error (the one answered), so that a
// handler checks once after reading them all.
type params struct {
	q   url.Values
	err error
}

func newParams(r *http.Request) *params { return &params{q: r.URL.Query()} }

// key checks a text key of the path (e.g. the item id).
func (p *params) key(what, v string) string {
	if p.err == nil {
		p.err = checkKey(what, v)
	}
	return v
}

func (p *params) period(maxDays int) (start, end time.Time) {
	if p.err == nil {
		start, end, p.err = parsePeriod(p.q, maxDays)
	}
	return start, end
}

func (p *params) date(name string) (d time.Time, given bool) {
	if p.err == nil {
		d, given, p.err = parseDate(p.q, name, false)
	}
	return d, given
}

func (p *params) text(name, def string) (v string) {
	if p.err == nil {
		v, p.err = parseText(p.q, name, def)
	}
	return v
}

func (p *params) source() (v *string) {
	if p.err == nil {
		v, p.err = parseSource(p.q)
	}
	return v
}

func (p *params) integer(name string, def, min, max int) (n int) {
	if p.err == nil {
		n, p.err = parseInt(p.q, name, def, min, max)
	}
	return n
}

func (p *params) itemIDs(required bool, max int) (ids []string) {
	if p.err == nil {
		ids, p.err = parseItemIDs(p.q, required, max)
	}
	return ids
}

// parseDate reads a required (or optional when def is non-zero) YYYY-MM-DD
// query parameter.
func parseDate(q url.Values, name string, required bool) (time.Time, bool, error) {
	raw := q.Get(name)
	if raw == "" {
		if required {
			return time.Time{}, false, badRequest(CodeMissingParameter, "query parameter %q is required (YYYY-MM-DD)", name)
		}
		return time.Time{}, false, nil
	}
	d, err := time.Parse(dateLayout, raw)
	if err != nil || d.Year() < 1 {
		return time.Time{}, false, badRequest(CodeInvalidDate, "query parameter %q: %q is not a date in the form YYYY-MM-DD", name, truncate(raw, 40))
	}
	return d, true, nil
}

// parsePeriod reads start and end (both required), checks start <= end and
// that the span (inclusive) is at most maxDays.
func parsePeriod(q url.Values, maxDays int) (start, end time.Time, err error) {
	start, _, err = parseDate(q, "start", true)
	if err != nil {
		return
	}
	end, _, err = parseDate(q, "end", true)
	if err != nil {
		return
	}
	if start.After(end) {
		err = badRequest(CodeInvalidRange, "start %s is after end %s", start.Format(dateLayout), end.Format(dateLayout))
		return
	}
	if days := int(end.Sub(start).Hours()/24) + 1; maxDays > 0 && days > maxDays {
		err = badRequest(CodeSpanTooLarge, "the period %s..%s spans %d days; the maximum is %d", start.Format(dateLayout), end.Format(dateLayout), days, maxDays)
	}
	return
}

// checkKey validates a text key (item id, source) coming from a request:
// valid UTF-8, no NUL byte (PostgreSQL text cannot hold one), bounded size.
func checkKey(what, s string) error {
	switch {
	case s == "":
		return badRequest(CodeInvalidParameter, "%s is empty", what)
	case len(s) > maxKeyBytes:
		return badRequest(CodeInvalidParameter, "%s is longer than %d bytes", what, maxKeyBytes)
	case !utf8.ValidString(s):
		return badRequest(CodeInvalidParameter, "%s is not valid UTF-8", what)
	case strings.IndexByte(s, 0) >= 0:
		return badRequest(CodeInvalidParameter, "%s contains a NUL byte", what)
	}
	return nil
}

// parseItemIDs reads the item list: item_ids holds comma-separated ids
// (and may repeat); item_id may repeat and is never split, for ids that
// contain a comma (real ERP names do: "PINHO 10CM x 2,5CM"). Blanks around
// ids are trimmed, empty entries and duplicates dropped; at most max ids. A
// list that is given but names no id (item_ids=,,,) is an error.
func parseItemIDs(q url.Values, required bool, max int) ([]string, error) {
	var raw []string
	for _, v := range q["item_ids"] {
		raw = append(raw, strings.Split(v, ",")...)
	}
	raw = append(raw, q["item_id"]...)
	seen := map[string]bool{}
	var ids []string
	for _, id := range raw {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		if err := checkKey("item id", id); err != nil {
			return nil, err
		}
		seen[id] = true
		ids = append(ids, id)
		if max > 0 && len(ids) > max {
			return nil, badRequest(CodeTooManyItems, "at most %d item ids per request", max)
		}
	}
	_, given := q["item_ids"]
	if _, one := q["item_id"]; one {
		given = true
	}
	switch {
	case len(ids) == 0 && given:
		// item_ids=,,, is not "every item": an explicit list must name one.
		return nil, badRequest(CodeInvalidParameter, "the item list is empty: item_ids/item_id name no item id (leave the parameter out for every item where the endpoint allows it)")
	case len(ids) == 0 && required:
		return nil, badRequest(CodeMissingParameter, "query parameter \"item_ids\" is required (comma-separated item ids; repeat item_id=... for an id with a comma)")
	}
	return ids, nil
}

// parseText reads an optional text key (trimmed; def when absent or blank).
func parseText(q url.Values, name, def string) (string, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def, nil
	}
	if err := checkKey(fmt.Sprintf("query parameter %q", name), v); err != nil {
		return "", err
	}
	return v, nil
}

// parseSource reads the optional source filter.
func parseSource(q url.Values) (*string, error) {
	s := strings.TrimSpace(q.Get("source"))
	if s == "" {
		return nil, nil
	}
	if err := checkKey("source", s); err != nil {
		return nil, err
	}
	return &s, nil
}

// parseInt reads an optional non-negative integer in [min, max].
func parseInt(q url.Values, name string, def, min, max int) (int, error) {
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, badRequest(CodeInvalidParameter, "query parameter %q: %q is not an integer", name, truncate(raw, 40))
	}
	if n < min || n > max {
		return 0, badRequest(CodeInvalidParameter, "query parameter %q must be between %d and %d, not %d", name, min, max, n)
	}
	return n, nil
}

// likePattern turns free text into an ILIKE "contains" pattern, escaping
// the wildcards % and _ and the escape character itself.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
