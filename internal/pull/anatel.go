package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/load"
)

// CSVLoader loads one CSV stream through the file loader's mapping and
// dialect machinery; *load.Loader implements it.
type CSVLoader interface {
	LoadReader(ctx context.Context, source, name string, r io.Reader, opts load.Options) (load.Result, error)
}

// pullAnatel downloads the telecom/5G CSV and hands it to the file loader
// (source anatel_5g of the `sources:` section: bronze.telecom_5g,
// semicolon, Latin-1, year+month date). The loader writes meta.loads,
// bronze rows and rejects in its own transaction; the raw response and the
// watermark follow in a second one (see docs/pull.md).
func (p *Puller) pullAnatel(ctx context.Context, opts Options) Result {
	cfg := p.cfg.Anatel
	res := Result{Source: SourceAnatel, Series: cfg.LoadSource, Name: "telecom_5g", Status: StatusSkipped}
	switch {
	case opts.Offline:
		res.Error = "offline: not pulled"
		p.log.Warn("pull skipped (offline)", "source", SourceAnatel)
		return res
	case cfg.URL == "":
		res.Error = "anatel_5g.url is not configured (pull: anatel_5g: url in novawh.yaml)"
		p.log.Warn("pull skipped", "source", SourceAnatel, "reason", res.Error)
		return res
	}
	res.Status = StatusFailed
	if p.csv == nil {
		res.Error = "anatel_5g: no CSV loader (the `sources:` section has no file loader configuration)"
		return res
	}
	if wm, err := p.watermark(ctx, SourceAnatel, cfg.LoadSource); err != nil {
		res.Error = err.Error()
		return res
	} else if wm != nil {
		res.Watermark = wm.Format(time.DateOnly)
	}
	u := cfg.URL
	l := ledger.Load{Source: cfg.LoadSource, FileName: u, SHA256: sum(nil), TargetTable: "bronze.telecom_5g"}
	fail := func(err error) Result {
		res.Error = fmt.Sprintf("anatel_5g %s: %v", u, err)
		p.log.Error("pull failed", "source", SourceAnatel, "err", err)
		return res
	}
	resp, err := p.fetch.get(ctx, u)
	if err != nil {
		if resp != nil {
			l.SHA256, l.Bytes = sum(resp.Body), int64(len(resp.Body))
		}
		if _, rerr := ledger.RecordFailure(context.WithoutCancel(ctx), p.pool, l, ledger.Counts{}, err); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fail(err)
	}
	if err := checkCSV(resp); err != nil {
		l.SHA256, l.Bytes = sum(resp.Body), int64(len(resp.Body))
		if _, rerr := ledger.RecordFailure(context.WithoutCancel(ctx), p.pool, l, ledger.Counts{}, err); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fail(err)
	}
	// The raw CSV and the watermark commit in the loader's transaction,
	// together with the rows: a crash leaves all of them or none.
	var wm *time.Time
	keep := p.keepResponse(SourceAnatel, cfg.LoadSource, resp, &wm)
	lr, err := p.csv.LoadReader(ctx, cfg.LoadSource, u, bytes.NewReader(resp.Body), load.Options{BeforeCommit: keep})
	res.LoadIDs = []int64{lr.LoadID}
	if err != nil {
		return fail(err) // the loader recorded the failed load
	}
	res.Status, res.Windows = StatusOK, 1
	if lr.Status == ledger.StatusSkipped {
		res.WindowsUnchanged = 1
		return res
	}
	res.RowsLoaded, res.RowsRejected = lr.RowsLoaded, lr.RowsRejected
	if wm != nil {
		res.Watermark = wm.Format(time.DateOnly)
	}
	return res
}

// checkCSV refuses HTML pages and JSON error documents served instead of
// the CSV.
func checkCSV(r *response) error {
	b := bytes.TrimLeft(bytes.TrimPrefix(r.Body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(b) == 0 {
		return fmt.Errorf("GET %s: empty body (HTTP %d)", r.URL, r.Status)
	}
	if b[0] == '<' || b[0] == '{' || b[0] == '[' {
		return fmt.Errorf("GET %s: HTTP %d returned %q content, not a CSV: %s", r.URL, r.Status, r.ContentType, snippet(r.Body))
	}
	return nil
}
