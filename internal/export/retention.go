package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/novacorrente/novawh/internal/pglock"
)

// The bronze retention. Bronze loads that started before the cut-off (the
// last BronzeRetentionDays days, in UTC) leave the lake: the exporter drops
// their partitions from the manifests, and on S3 a lifecycle rule on the
// bronze bucket expires the data objects (tagged novawh-retention=bronze)
// after the same number of days, should exports stop. In PostgreSQL, the
// raw API responses (bronze.raw_responses) and the texts of rejected rows
// (meta.rejected_rows.raw) of those loads are pruned, but only for loads a
// verified export to this target holds: meta.export_loads records each
// load's rows and checksum as exported, the published files are read back
// and compared with their manifest (size, sha256, Parquet row count), and
// the prune recomputes the rows and checksum in PostgreSQL before deleting.
// Typed bronze rows stay: a full refresh rebuilds silver and gold from them.

// Lifecycle tag and rule of the bronze data objects.
const (
	retentionTagKey   = "novawh-retention"
	retentionTagValue = "bronze"
	lifecycleRuleID   = "novawh-bronze-retention"
)

// pruned are the tables whose old raw data the retention removes.
var pruned = map[string]string{
	"bronze.raw_responses": `DELETE FROM bronze.raw_responses WHERE _load_id = $1`,
	"meta.rejected_rows":   `UPDATE meta.rejected_rows SET raw = '', raw_pruned_at = now() WHERE load_id = $1 AND raw_pruned_at IS NULL`,
}

// RetentionInfo is what the bronze retention did in a run.
type RetentionInfo struct {
	Days   int    `json:"days"`
	Cutoff string `json:"cutoff"` // loads started before this day (UTC) are beyond the retention
	// LoadsVerified counts loads whose exported files were read back and
	// found equal to their manifest in this run.
	LoadsVerified int `json:"loads_verified"`
	// LoadsPruned counts loads whose raw data was removed in this run.
	LoadsPruned         int   `json:"loads_pruned"`
	RawResponsesDeleted int64 `json:"raw_responses_deleted"`
	RejectedRowsCleared int64 `json:"rejected_rows_cleared"`
	// LoadsKept counts loads beyond the retention whose raw data stays
	// because no verified export to this target holds them as they are.
	LoadsKept int `json:"loads_kept"`
	// Lifecycle is the S3 lifecycle rule set on the bronze bucket.
	Lifecycle string `json:"lifecycle,omitempty"`
	// Skipped says why the prune did not run (the next run does it).
	Skipped string `json:"skipped,omitempty"`
}

// recordLoads stores the loads a bronze table's manifest holds. A load
// whose rows or checksum changed must be verified again.
func recordLoads(ctx context.Context, tx pgx.Tx, target string, m *Manifest, runID int64) error {
	for _, l := range m.Loads {
		_, err := tx.Exec(ctx, `INSERT INTO meta.export_loads AS e (target, table_name, load_id, day, partition, rows, checksum, run_id, exported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (target, table_name, load_id) DO UPDATE SET day = EXCLUDED.day, partition = EXCLUDED.partition,
				rows = EXCLUDED.rows, checksum = EXCLUDED.checksum, run_id = EXCLUDED.run_id, exported_at = EXCLUDED.exported_at,
				verified_at = CASE WHEN e.rows = EXCLUDED.rows AND e.checksum = EXCLUDED.checksum THEN e.verified_at END,
				pruned_at = CASE WHEN e.rows = EXCLUDED.rows AND e.checksum = EXCLUDED.checksum THEN e.pruned_at END`,
			target, m.Table, l.LoadID, l.Day, l.Partition, l.Rows, l.Checksum, runID, m.ExportedAt)
		if err != nil {
			return fmt.Errorf("meta.export_loads: %w", err)
		}
	}
	return nil
}

// lifecycler is a layer root that can expire its objects (S3).
type lifecycler interface {
	setRetention(ctx context.Context, days int) (string, error)
}

// applyRetention verifies the bronze export, sets the bucket's lifecycle
// rule and prunes the raw data of verified loads beyond the retention.
func (e *Exporter) applyRetention(ctx context.Context, log *slog.Logger, tgt target, lr layerRoot, opts Options, now time.Time) (*RetentionInfo, error) {
	cut := opts.cutoff(now)
	info := &RetentionInfo{Days: opts.BronzeRetentionDays, Cutoff: cut.Format(time.DateOnly)}
	n, err := e.verify(ctx, lr)
	info.LoadsVerified = n
	if err != nil {
		return info, fmt.Errorf("export: verify bronze: %w", err)
	}
	if lc, ok := lr.(lifecycler); ok {
		if info.Lifecycle, err = lc.setRetention(ctx, opts.BronzeRetentionDays); err != nil {
			return info, fmt.Errorf("export: bronze lifecycle rule: %w", err)
		}
	}
	held, err := pglock.Acquire(ctx, e.pool, pglock.Retention, pglock.Wait{For: opts.RetentionLockWait})
	if errors.Is(err, pglock.ErrBusy) {
		info.Skipped = "another prune holds the retention lock"
		log.Warn("bronze retention: prune skipped, the next run does it", "reason", info.Skipped)
		return info, nil
	}
	if err != nil {
		return info, fmt.Errorf("export: retention: %w", err)
	}
	defer held.Release(ctx)
	if err := e.prune(ctx, log, held, lr.String(), *cut, info); err != nil {
		return info, fmt.Errorf("export: retention: %w", err)
	}
	log.Info("bronze retention applied", "days", info.Days, "cutoff", info.Cutoff, "loads_verified", info.LoadsVerified,
		"loads_pruned", info.LoadsPruned, "raw_responses_deleted", info.RawResponsesDeleted,
		"rejected_rows_cleared", info.RejectedRowsCleared, "loads_kept", info.LoadsKept, "lifecycle", info.Lifecycle)
	return info, nil
}

// verify reads back the published files of every exported bronze load not
// verified yet and marks the loads whose files all match their manifest.
func (e *Exporter) verify(ctx context.Context, lr layerRoot) (int, error) {
	rows, err := e.pool.Query(ctx, `SELECT table_name, load_id FROM meta.export_loads WHERE target = $1 AND verified_at IS NULL`, lr.String())
	if err != nil {
		return 0, err
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
		table string
		id    int64
	}, error) {
		var v struct {
			table string
			id    int64
		}
		return v, r.Scan(&v.table, &v.id)
	})
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	raw, err := lr.Read(ctx, ManifestName)
	if err != nil || raw == nil {
		return 0, fmt.Errorf("read %s: %w", lr.Location(ManifestName), err)
	}
	ptr, err := ParseLayerManifest(raw, lr.Location(ManifestName))
	if err != nil {
		return 0, err
	}
	manifests := map[string]*Manifest{}
	for _, t := range ptr.Tables {
		b, err := lr.Read(ctx, t.Manifest)
		if err != nil || b == nil {
			return 0, fmt.Errorf("read %s: %w", lr.Location(t.Manifest), err)
		}
		if sha256Hex(b) != t.ManifestSHA256 {
			return 0, fmt.Errorf("%s does not match the layer manifest", lr.Location(t.Manifest))
		}
		m, err := ParseManifest(b, lr.Location(t.Manifest))
		if err != nil {
			return 0, err
		}
		manifests[m.Table] = m
	}
	checked := map[string]error{} // table/file path -> outcome
	verified := 0
	for _, l := range todo {
		m := manifests[l.table]
		if m == nil {
			continue
		}
		part, found := "", false
		for _, ml := range m.Loads {
			if ml.LoadID == l.id {
				part, found = ml.Partition, true
			}
		}
		if !found {
			continue // left the lake before it could be verified: never pruned
		}
		for _, f := range m.Files {
			if f.Partition != part {
				continue
			}
			key := m.Table + "/" + f.Path
			if _, done := checked[key]; !done {
				checked[key] = verifyFile(ctx, lr, tableDir(ptr, m.Table)+"/"+f.Path, f)
			}
			if checked[key] != nil {
				// Nothing is pruned on the strength of a file that does not
				// read back as written.
				return verified, checked[key]
			}
		}
		if _, err := e.pool.Exec(ctx, `UPDATE meta.export_loads SET verified_at = now()
			WHERE target = $1 AND table_name = $2 AND load_id = $3`, lr.String(), l.table, l.id); err != nil {
			return verified, err
		}
		verified++
	}
	return verified, nil
}

func tableDir(ptr *LayerManifest, table string) string {
	for _, t := range ptr.Tables {
		if t.Table == table {
			return t.Name
		}
	}
	return ""
}

// verifyFile reads a published file back: its size and sha256 must be the
// manifest's, and its Parquet footer must count the manifest's rows.
func verifyFile(ctx context.Context, lr layerRoot, rel string, f ManifestFile) error {
	rc, err := lr.Open(ctx, rel)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	if _, err := io.Copy(io.MultiWriter(h, &buf), rc); err != nil {
		return fmt.Errorf("read back %s: %w", lr.Location(rel), err)
	}
	if int64(buf.Len()) != f.Bytes || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s: %d bytes read back do not match the manifest (%d bytes, sha256 %s)", lr.Location(rel), buf.Len(), f.Bytes, f.SHA256)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return fmt.Errorf("%s: %w", lr.Location(rel), err)
	}
	if pf.NumRows() != f.Rows {
		return fmt.Errorf("%s holds %d rows, its manifest says %d", lr.Location(rel), pf.NumRows(), f.Rows)
	}
	return nil
}

// prune removes the raw data of the loads beyond the cut-off that a
// verified export holds, one load per transaction, after checking that
// PostgreSQL still holds exactly the rows exported.
func (e *Exporter) prune(ctx context.Context, log *slog.Logger, held *pglock.Held, target string, cut time.Time, info *RetentionInfo) error {
	conn := held.Conn()
	for table, stmt := range pruned {
		ts, ok := e.bronzeSchema(table)
		if !ok {
			continue
		}
		rows, err := conn.Query(ctx, `SELECT m.load_id, x.rows, x.checksum FROM meta.loads m
			LEFT JOIN meta.export_loads x ON x.load_id = m.load_id AND x.target = $1 AND x.table_name = $2 AND x.verified_at IS NOT NULL
			WHERE m.started_at < $3 AND (x.load_id IS NULL OR x.pruned_at IS NULL)
			  AND EXISTS (SELECT 1 FROM `+ts.relation()+` t WHERE t.`+quoteIdent(ts.cols[ts.loadCol].name)+` = m.load_id`+notPruned(table)+`)
			ORDER BY m.load_id`, target, table, cut)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		type cand struct {
			id       int64
			rows     *int64
			checksum *string
		}
		cands, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cand, error) {
			var c cand
			return c, r.Scan(&c.id, &c.rows, &c.checksum)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		for _, c := range cands {
			if c.rows == nil {
				info.LoadsKept++
				continue
			}
			n, err := pruneLoad(ctx, conn, ts, stmt, target, c.id, *c.rows, *c.checksum)
			if err != nil {
				return fmt.Errorf("%s load %d: %w", table, c.id, err)
			}
			if n < 0 {
				info.LoadsKept++
				log.Warn("bronze retention: rows differ from the verified export, kept", "table", table, "load_id", c.id)
				continue
			}
			info.LoadsPruned++
			if table == "bronze.raw_responses" {
				info.RawResponsesDeleted += n
			} else {
				info.RejectedRowsCleared += n
			}
		}
	}
	return nil
}

// notPruned restricts the candidates of a table to rows still holding raw
// data.
func notPruned(table string) string {
	if table == "meta.rejected_rows" {
		return " AND t.raw_pruned_at IS NULL"
	}
	return ""
}

// pruneLoad prunes one load in one transaction when its rows still have
// the exported count and checksum; it returns -1 when they do not.
func pruneLoad(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, ts *tableSchema, stmt, target string, id, rows int64, checksum string) (int64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // committed below
	got, err := loadChecksums(ctx, tx, ts, []int64{id})
	if err != nil {
		return 0, err
	}
	if st := got[id]; st.rows != rows || st.checksum() != checksum {
		return -1, nil
	}
	tag, err := tx.Exec(ctx, stmt, id)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE meta.export_loads SET pruned_at = now() WHERE target = $1 AND table_name = $2 AND load_id = $3`,
		target, ts.table.Qualified(), id); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}

// bronzeSchema is the export schema of a table published in bronze.
func (e *Exporter) bronzeSchema(qualified string) (*tableSchema, bool) {
	t, ok := e.reg.Lookup(qualified)
	if !ok {
		return nil, false
	}
	ts, err := buildSchema(t, "bronze")
	if err != nil || ts.loadCol < 0 {
		return nil, false
	}
	return ts, true
}
