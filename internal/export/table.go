package export

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/run/fault"
)

// exportLayer exports the tables of one layer into a new version of it and
// publishes it with the layer manifest, written last. Nothing is published
// when no table changed.
func (r *runState) exportLayer(ctx context.Context, lr layerRoot, layer string, tables []*tableSchema) (LayerResult, []TableResult, error) {
	lres := LayerResult{Layer: layer, Manifest: lr.Location(ManifestName)}
	trs := []TableResult{}
	raw, err := lr.Read(ctx, ManifestName)
	if err != nil {
		return lres, trs, fmt.Errorf("export %s: %w", layer, err)
	}
	var basePtr *LayerManifest
	if raw != nil {
		if basePtr, err = ParseLayerManifest(raw, lr.Location(ManifestName)); err != nil {
			r.log.Warn("unreadable layer manifest: its tables are exported in full", "layer", layer, "err", err)
			basePtr = nil
		}
	}
	published := map[string]publishedTable{}
	if basePtr != nil {
		for _, entry := range basePtr.Tables {
			published[entry.Name] = publishedTable{entry: entry}
		}
	}
	ltx, err := lr.Begin(ctx)
	if err != nil {
		return lres, trs, fmt.Errorf("export %s: %w", layer, err)
	}
	committed := false
	defer func() {
		if !committed {
			ltx.Abort()
		}
	}()
	var rewritten []publishedTable
	var written []tableWrite
	for _, ts := range tables {
		pt, ok := published[ts.name]
		if ok {
			pt = r.loadPublished(ctx, lr, pt)
			published[ts.name] = pt
		}
		tr, w, err := r.exportTable(ctx, lr, ltx, ts, pt.manifest, pt.raw)
		trs = append(trs, tr)
		if err != nil {
			return lres, trs, err
		}
		if w != nil {
			rewritten = append(rewritten, w.pt)
			written = append(written, *w)
			published[ts.name] = w.pt
		}
		// Test hook (faultinject builds only): a table of the new version
		// is complete, the layer is not yet published.
		fault.Pause(ctx, "export.table")
	}
	if len(rewritten) == 0 && basePtr != nil {
		// Nothing changed: the published layer stays as it is.
		return lres, trs, lr.Repair(ctx, r.carried(ctx, lr, published, nil))
	}
	ptr := &LayerManifest{FormatVersion: ManifestVersion, Layer: layer, RunID: r.runID,
		ExportedAt: r.now.Truncate(time.Millisecond), LastLoadID: r.snap.lastLoadID}
	for _, name := range sortedKeys(published) {
		ptr.Tables = append(ptr.Tables, published[name].entry)
	}
	b, err := ptr.Encode()
	if err != nil {
		return lres, trs, fmt.Errorf("export %s: layer manifest: %w", layer, err)
	}
	if err := ltx.Commit(ctx, b, rewritten); err != nil {
		return lres, trs, fmt.Errorf("export %s: publish: %w", layer, err)
	}
	committed, lres.Published = true, true
	r.log.Info("layer published", "layer", layer, "manifest", lres.Manifest, "tables_rewritten", len(rewritten), "tables", len(ptr.Tables))
	if err := r.record(ctx, lr, written); err != nil {
		// Published; the next run finds manifests meta does not know and
		// rewrites those tables in full.
		return lres, trs, fmt.Errorf("export %s: published, but recording it in meta failed: %w", layer, err)
	}
	if err := lr.Repair(ctx, r.carried(ctx, lr, published, rewritten)); err != nil {
		return lres, trs, fmt.Errorf("export %s: %w", layer, err)
	}
	return lres, trs, nil
}

// loadPublished reads the manifest a layer manifest names for pt; a
// missing or unreadable one leaves pt.manifest nil (the table is then
// exported in full).
func (r *runState) loadPublished(ctx context.Context, lr layerRoot, pt publishedTable) publishedTable {
	raw, err := lr.Read(ctx, pt.entry.Manifest)
	if err != nil || raw == nil {
		r.log.Warn("the layer manifest names a table manifest that cannot be read", "manifest", lr.Location(pt.entry.Manifest), "err", err)
		return pt
	}
	m, err := ParseManifest(raw, lr.Location(pt.entry.Manifest))
	if err != nil {
		r.log.Warn("unreadable manifest: exporting the whole table", "manifest", lr.Location(pt.entry.Manifest), "err", err)
		return pt
	}
	pt.manifest, pt.raw = m, raw
	return pt
}

// carried lists the published tables not rewritten, with their manifests.
func (r *runState) carried(ctx context.Context, lr layerRoot, published map[string]publishedTable, rewritten []publishedTable) []publishedTable {
	skip := map[string]bool{}
	for _, pt := range rewritten {
		skip[pt.entry.Name] = true
	}
	var out []publishedTable
	for _, name := range sortedKeys(published) {
		pt := published[name]
		if skip[name] {
			continue
		}
		if pt.manifest == nil {
			if pt = r.loadPublished(ctx, lr, pt); pt.manifest == nil {
				continue
			}
		}
		out = append(out, pt)
	}
	return out
}

// exportState is a row of meta.export_tables.
type exportState struct {
	lastChangeID   int64
	manifestSHA256 string
}

// tableWrite is a table rewritten by this run, for meta and verification.
type tableWrite struct {
	ts       *tableSchema
	pt       publishedTable
	newFiles []ManifestFile
}

// tableRun is the export of one table in one run.
type tableRun struct {
	r      *runState
	ts     *tableSchema
	base   *Manifest
	cutoff *time.Time
	tr     *TableResult
	// What the change detection learnt, reused for writing.
	days      map[string]dayStats // detectContent: per day
	loads     []loadInfo          // detectLoads: current loads
	loadStats map[int64]dayStats  // detectLoads: rows and checksum per load (written ones)
	stats     grainStats
}

// exportTable decides what to rewrite, writes it into the layer's new
// version and returns its entry for the layer manifest (nil when the table
// is unchanged).
func (r *runState) exportTable(ctx context.Context, lr layerRoot, ltx layerTx, ts *tableSchema, base *Manifest, baseRaw []byte) (TableResult, *tableWrite, error) {
	start := time.Now()
	q := ts.table.Qualified()
	tr := TableResult{Table: q, Layer: ts.layer, Glob: lr.Location(tableGlob(ts.name)),
		PartitionsWritten: []string{}, PartitionsRemoved: []string{}}
	t := &tableRun{r: r, ts: ts, base: base, tr: &tr, loadStats: map[int64]dayStats{}}
	if ts.layer == "bronze" {
		t.cutoff = r.opts.cutoff(r.now)
	}
	var state *exportState
	var st exportState
	err := r.ctl.QueryRow(ctx, `SELECT last_change_id, manifest_sha256 FROM meta.export_tables WHERE target = $1 AND table_name = $2`,
		lr.String(), q).Scan(&st.lastChangeID, &st.manifestSHA256)
	switch {
	case err == nil:
		state = &st
	case errors.Is(err, pgx.ErrNoRows):
	default:
		return tr, nil, fmt.Errorf("export %s: meta.export_tables: %w", q, err)
	}
	if ts.detect == detectChanges {
		if err := r.snap.tx.QueryRow(ctx, `SELECT coalesce(max(change_id), 0) FROM meta.gold_changes WHERE `+changesOf, q).Scan(&tr.LastChangeID); err != nil {
			return tr, nil, fmt.Errorf("export %s: meta.gold_changes: %w", q, err)
		}
	}
	forced := r.opts.PartitionBy != grainAuto && ts.source != partNone

	reason := ""
	switch {
	case r.opts.Full:
		reason = "--full"
	case ts.detect == detectAlways:
		reason = "views are not in meta.gold_changes: always exported in full"
	case state == nil:
		reason = "first export of the table to this target"
	case base == nil:
		reason = "the target has no manifest for the table"
	case sha256Hex(baseRaw) != state.manifestSHA256:
		reason = "the manifest at the target is not the one meta.export_tables recorded"
	case forced && base.PartitionBy != r.opts.PartitionBy:
		reason = fmt.Sprintf("partitioning changed from %s to %s", base.PartitionBy, r.opts.PartitionBy)
	case base.Compression != r.opts.Compression:
		reason = fmt.Sprintf("compression changed from %s to %s", base.Compression, r.opts.Compression)
	case base.SchemaSHA256 != ts.sha256:
		reason = "the table's columns changed in the schema registry"
	case ts.detect == detectChanges && tr.LastChangeID < state.lastChangeID:
		reason = "meta.gold_changes is behind the last export (restored database?)"
	}
	if reason == "" && !forced && ts.source != partNone && base.MinRowsPerFile != r.opts.MinRowsPerFile {
		// The rule's target changed: the grain may change too.
		if err := t.fullStats(ctx); err != nil {
			return tr, nil, fmt.Errorf("export %s: %w", q, err)
		}
		if g, _ := chooseGrain(t.stats, base.PartitionBy, r.opts.MinRowsPerFile, ts.allows); g != base.PartitionBy {
			reason = fmt.Sprintf("file-size rule: partitioning changes from %s to %s", base.PartitionBy, g)
		}
	}
	var changed map[string]bool // partition keys to rewrite; nil: all
	if reason == "" {
		p := newPlan(ts, base.PartitionBy, t.cutoff)
		keys, whole, err := t.changes(ctx, p, state)
		if err != nil {
			return tr, nil, fmt.Errorf("export %s: %w", q, err)
		}
		switch {
		case len(keys) == 0 && !whole:
			tr.Mode, tr.PartitionBy = "unchanged", base.PartitionBy
			tr.FilesKept, tr.Files, tr.Rows = len(base.Files), len(base.Files), base.Rows
			tr.Manifest = lr.Location(ts.name + "/" + ManifestName)
			if state != nil && ts.detect == detectChanges {
				tr.LastChangeID = state.lastChangeID
			}
			tr.DurationMS = time.Since(start).Milliseconds()
			r.log.Info("table unchanged since the last export", "table", q, "layer", ts.layer)
			return tr, nil, nil
		case whole:
			reason = "a refresh rewrote the whole table"
		case p.grain == grainNone:
			reason = "unpartitioned table changed"
		default:
			changed = keys
		}
		if changed != nil && !forced {
			if g, _ := chooseGrain(t.stats, base.PartitionBy, r.opts.MinRowsPerFile, ts.allows); g != base.PartitionBy {
				reason = fmt.Sprintf("file-size rule: partitioning changes from %s to %s", base.PartitionBy, g)
				changed = nil
			}
		}
	}
	grain, rule := grainNone, "none: the table has no partition column"
	prev := ""
	if base != nil {
		prev = base.PartitionBy
	}
	if changed == nil {
		tr.Mode, tr.Reason = "full", reason
		if ts.source != partNone || ts.detect == detectContent || ts.detect == detectLoads {
			// Statistics for the rule; silver and bronze checksums.
			if err := t.fullStats(ctx); err != nil {
				return tr, nil, fmt.Errorf("export %s: %w", q, err)
			}
		}
		if ts.source != partNone {
			if forced {
				grain, rule = r.opts.PartitionBy, "--partition-by "+r.opts.PartitionBy
				if !ts.allows(grain) {
					return tr, nil, fmt.Errorf("export %s: --partition-by %s: the folder names would shadow a column of the table", q, grain)
				}
			} else {
				grain, rule = chooseGrain(t.stats, prev, r.opts.MinRowsPerFile, ts.allows)
			}
		}
	} else {
		tr.Mode = "incremental"
		grain, rule = base.PartitionBy, base.PartitionRule
	}
	tr.PartitionBy = grain
	p := newPlan(ts, grain, t.cutoff)
	minRows := r.opts.MinRowsPerFile
	if forced {
		minRows = 0
	}
	if changed != nil {
		minRows = base.MinRowsPerFile
	}
	w, err := t.write(ctx, lr, ltx, p, changed, rule, minRows)
	if err != nil {
		return tr, nil, fmt.Errorf("export %s: %w", q, err)
	}
	tr.Manifest = lr.Location(w.pt.entry.Manifest)
	tr.DurationMS = time.Since(start).Milliseconds()
	r.log.Info("table exported", "table", q, "layer", ts.layer, "mode", tr.Mode, "reason", tr.Reason, "partition_by", grain,
		"partitions_written", len(tr.PartitionsWritten), "partitions_removed", len(tr.PartitionsRemoved),
		"files_written", tr.FilesWritten, "files_kept", tr.FilesKept, "files_removed", tr.FilesRemoved,
		"rows_written", tr.RowsWritten, "bytes_written", tr.BytesWritten, "last_change_id", tr.LastChangeID,
		"duration_ms", tr.DurationMS)
	return tr, w, nil
}

// changes finds the partitions (keys of p's grain) that changed since the
// base manifest; whole means the whole table did. It fills t.stats for the
// file-size rule.
func (t *tableRun) changes(ctx context.Context, p *plan, state *exportState) (map[string]bool, bool, error) {
	ts, base, tx := t.ts, t.base, t.r.snap.tx
	keys := map[string]bool{}
	switch ts.detect {
	case detectChanges:
		windows, whole, err := changeWindows(ctx, tx, ts.table.Qualified(), state.lastChangeID, t.tr.LastChangeID)
		if err != nil || whole || len(windows) == 0 {
			return nil, whole, err
		}
		if err := t.fullStats(ctx); err != nil {
			return nil, false, err
		}
		return partitionKeys(windows, p.grain), false, nil
	case detectContent:
		if err := t.fullStats(ctx); err != nil {
			return nil, false, err
		}
		now := byGrain(t.days, p.grain)
		was := map[string]string{}
		for _, f := range base.Files {
			was[f.Partition] = f.Checksum
		}
		for k, st := range now {
			if was[k] != st.checksum() {
				keys[k] = true
			}
		}
		for k := range was {
			if _, ok := now[k]; !ok {
				keys[k] = true
			}
		}
		return keys, false, nil
	default: // detectLoads
		loads, err := tableLoads(ctx, tx, p)
		if err != nil {
			return nil, false, err
		}
		t.loads = loads
		now, was := map[string][]int64{}, map[string][]int64{}
		for _, l := range loads {
			k := regroup([]string{l.day}, p.grain)[0]
			now[k] = append(now[k], l.id)
		}
		prev := map[int64]ManifestLoad{}
		for _, l := range base.Loads {
			was[l.Partition] = append(was[l.Partition], l.LoadID)
			prev[l.LoadID] = l
		}
		for k := range now {
			if fmt.Sprint(now[k]) != fmt.Sprint(was[k]) {
				keys[k] = true
			}
		}
		for k := range was {
			if _, ok := now[k]; !ok {
				keys[k] = true
			}
		}
		// Statistics: the kept loads' rows from the manifest, the others'
		// from PostgreSQL (they are written).
		var need []int64
		rowsByDay := map[string]int64{}
		for _, l := range loads {
			k := regroup([]string{l.day}, p.grain)[0]
			if keys[k] {
				need = append(need, l.id)
			} else {
				rowsByDay[l.day] += prev[l.id].Rows
			}
		}
		got, err := loadChecksums(ctx, tx, ts, need)
		if err != nil {
			return nil, false, err
		}
		for _, l := range loads {
			if st, ok := got[l.id]; ok {
				t.loadStats[l.id] = st
				rowsByDay[l.day] += st.rows
			}
		}
		t.setLoadStats(rowsByDay)
		return keys, false, nil
	}
}

func (t *tableRun) setLoadStats(rowsByDay map[string]int64) {
	var n int64
	for _, r := range rowsByDay {
		n += r
	}
	t.stats = statsFromDays(n, sortedKeys(rowsByDay))
}

// fullStats gathers what a full export needs to know before writing: the
// file-size rule's statistics and, for silver and bronze, the checksums.
func (t *tableRun) fullStats(ctx context.Context) error {
	ts, tx := t.ts, t.r.snap.tx
	switch ts.detect {
	case detectContent:
		if t.days != nil {
			return nil
		}
		days, err := contentDays(ctx, tx, newPlan(ts, grainDay, t.cutoff))
		if err != nil {
			return err
		}
		t.days = days
		var n int64
		for _, st := range days {
			n += st.rows
		}
		t.stats = statsFromDays(n, sortedKeys(days))
	case detectLoads:
		p := newPlan(ts, grainDay, t.cutoff)
		loads, err := tableLoads(ctx, tx, p)
		if err != nil {
			return err
		}
		ids := make([]int64, len(loads))
		for i, l := range loads {
			ids[i] = l.id
		}
		got, err := loadChecksums(ctx, tx, ts, ids)
		if err != nil {
			return err
		}
		t.loads, t.loadStats = loads, got
		rowsByDay := map[string]int64{}
		for _, l := range loads {
			rowsByDay[l.day] += got[l.id].rows
		}
		t.setLoadStats(rowsByDay)
	default:
		if t.stats.days > 0 || t.stats.rows > 0 {
			return nil
		}
		n, est, err := estimateRows(ctx, tx, ts)
		if err != nil {
			return err
		}
		days, err := listDays(ctx, tx, ts)
		if err != nil {
			return err
		}
		t.stats = statsFromDays(n, days)
		t.stats.estimated = est
	}
	return nil
}

// keysAt lists the partition keys holding rows at p's grain.
func (t *tableRun) keysAt(ctx context.Context, p *plan) ([]string, error) {
	switch {
	case p.grain == grainNone:
		return []string{""}, nil
	case t.ts.detect == detectContent:
		return sortedKeys(byGrain(t.days, p.grain)), nil
	case t.ts.detect == detectLoads:
		set := map[string]bool{}
		for _, l := range t.loads {
			set[regroup([]string{l.day}, p.grain)[0]] = true
		}
		return sortedKeys(set), nil
	default:
		days, err := listDays(ctx, t.r.snap.tx, t.ts)
		if err != nil {
			return nil, err
		}
		return regroup(days, p.grain), nil
	}
}

// write writes the partitions of changed (nil: all) into the new version of
// the table, carries the other published files over and writes the table's
// manifest.
func (t *tableRun) write(ctx context.Context, lr layerRoot, ltx layerTx, p *plan, changed map[string]bool, rule string, minRows int64) (*tableWrite, error) {
	ts, tr, r := t.ts, t.tr, t.r
	tx, err := ltx.Table(ctx, ts.name, t.base)
	if err != nil {
		return nil, err
	}
	var files []ManifestFile
	if changed != nil {
		for _, f := range t.base.Files {
			if changed[f.Partition] {
				continue
			}
			if err := tx.Keep(ctx, f); err != nil {
				return nil, fmt.Errorf("keep %s: %w", f.Path, err)
			}
			files = append(files, f)
			tr.FilesKept++
		}
	}
	var keys []string
	if changed != nil {
		keys = sortedKeys(changed)
	} else if keys, err = t.keysAt(ctx, p); err != nil {
		return nil, err
	}
	w := &partitionWriter{ts: ts, p: p, opts: r.opts, log: r.log}
	write := func(ctx context.Context, q pgx.Tx, key string) ([]ManifestFile, error) {
		return w.write(ctx, q, tx, key)
	}
	var parts [][]ManifestFile
	mode := "partitions"
	if changed == nil && ts.source == partByDate && p.grain != grainNone {
		// Full export of a table partitioned by date: range queries when its
		// rows are stored in date order; else one sequential read, routed
		// straight to the writers when the table is small enough, else into
		// spill files (always one read for views: a range query would
		// evaluate the view once per partition).
		clustered := false
		if ts.table.Kind == "" || ts.table.Kind == "table" {
			if clustered, err = dateClustered(ctx, r.snap.tx, ts); err != nil {
				return nil, err
			}
		}
		switch {
		case r.opts.readMode != "":
			mode = r.opts.readMode
		case clustered:
			mode = "range"
		case t.stats.rows <= directMaxRows && len(keys) <= directMaxPartitions:
			mode = "direct"
		default:
			mode = "spill"
		}
		r.log.Debug("full export read plan", "table", ts.table.Qualified(), "read", mode, "partitions", len(keys), "rows", t.stats.rows)
	}
	switch mode {
	case "direct":
		read := r.opts.Progress.Count("export "+ts.layer+"."+ts.name, 0, "rows")
		keys, parts, err = w.direct(ctx, r.snap.tx, tx, read)
		read.Done()
		if err != nil {
			return nil, err
		}
	default:
		if mode == "spill" {
			sp, err := t.spill(ctx, w)
			if err != nil {
				return nil, err
			}
			defer sp.remove()
			keys = sp.keys()
			write = func(ctx context.Context, _ pgx.Tx, key string) ([]ManifestFile, error) {
				sr, err := sp.open(key, len(ts.cols))
				if err != nil {
					return nil, err
				}
				defer sr.Close()
				return w.writeRows(ctx, tx, key, sr)
			}
		}
		bar := r.opts.Progress.Count("export "+ts.layer+"."+ts.name, int64(len(keys)), "partitions")
		parts, err = r.snap.each(ctx, keys, func(ctx context.Context, q pgx.Tx, key string) ([]ManifestFile, error) {
			files, err := write(ctx, q, key)
			bar.Add(1)
			return files, err
		})
		bar.Done()
		if err != nil {
			return nil, err
		}
	}
	var newFiles []ManifestFile
	writtenKeys := map[string]bool{}
	for i, k := range keys {
		pf := parts[i]
		if len(pf) == 0 {
			continue
		}
		writtenKeys[k] = true
		if k != "" {
			tr.PartitionsWritten = append(tr.PartitionsWritten, k)
		}
		for _, f := range pf {
			tr.FilesWritten++
			tr.RowsWritten += f.Rows
			tr.BytesWritten += f.Bytes
		}
		newFiles = append(newFiles, pf...)
	}
	for k, fs := range t.base.byPartition() {
		if changed != nil && !changed[k] {
			continue
		}
		tr.FilesRemoved += len(fs)
		if k != "" && !writtenKeys[k] && (changed != nil || p.grain == t.base.PartitionBy) {
			tr.PartitionsRemoved = append(tr.PartitionsRemoved, k)
		}
	}
	sort.Strings(tr.PartitionsRemoved)

	m := &Manifest{
		FormatVersion:    ManifestVersion,
		Table:            ts.table.Qualified(),
		Layer:            ts.layer,
		RunID:            r.runID,
		ExportedAt:       r.now.Truncate(time.Millisecond),
		PartitionBy:      p.grain,
		PartitionRule:    rule,
		MinRowsPerFile:   minRows,
		PartitionColumns: partitionColumns(ts.source, p.grain),
		Glob:             tableGlob(ts.name),
		Compression:      r.opts.Compression,
		LastChangeID:     tr.LastChangeID,
		LastLoadID:       r.snap.lastLoadID,
		SchemaSHA256:     ts.sha256,
		Schema:           p.fl.cols,
		Files:            append(files, t.checksums(p, newFiles)...),
	}
	switch ts.source {
	case partByDate:
		m.PartitionColumn, m.PartitionSource = ts.cols[ts.dateCol].name, "the "+ts.cols[ts.dateCol].name+" column"
	case partByLoad:
		m.PartitionSource = "the day (UTC) meta.loads.started_at of " + ts.cols[ts.loadCol].name
	}
	if ts.detect == detectLoads {
		m.Loads = t.manifestLoads(p)
	}
	m.RetentionCutoff = t.cutoff
	mb, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	rel, err := tx.Finish(ctx, mb, r.version)
	if err != nil {
		return nil, err
	}
	tr.Rows, tr.Files = m.Rows, len(m.Files)
	entry := LayerTable{Name: ts.name, Table: m.Table, Manifest: rel, ManifestSHA256: sha256Hex(mb), Glob: m.Glob,
		PartitionBy: m.PartitionBy, Rows: m.Rows, Files: len(m.Files), Bytes: m.Bytes, RunID: r.runID, ExportedAt: m.ExportedAt}
	return &tableWrite{ts: ts, pt: publishedTable{entry: entry, manifest: m, raw: mb}, newFiles: newFiles}, nil
}

// spillChunkBlocks is the smallest table (in 8 kB blocks) read in parallel
// chunks, one per worker, into spill files.
const spillChunkBlocks = 1024

// spill reads the whole table once into spill files: in one block range
// per worker at the same time when the table is large (each PostgreSQL
// backend scans its range), else in one sequential read.
func (t *tableRun) spill(ctx context.Context, w *partitionWriter) (chunks, error) {
	ts, r := t.ts, t.r
	var pages int64
	if err := r.snap.tx.QueryRow(ctx, `SELECT relpages FROM pg_class WHERE oid = to_regclass($1)`, ts.table.Qualified()).Scan(&pages); err != nil {
		return nil, fmt.Errorf("relpages: %w", err)
	}
	n, min := 1, int64(spillChunkBlocks)
	if r.opts.chunkBlocks > 0 {
		min = r.opts.chunkBlocks
	}
	if pages >= min && ts.table.Kind != "view" {
		n = r.opts.Workers
	}
	read := r.opts.Progress.Count("read "+ts.layer+"."+ts.name, 0, "rows")
	defer read.Done()
	out := make(chunks, n)
	err := r.snap.run(ctx, n, func(ctx context.Context, q pgx.Tx, i int) error {
		// Block ranges: the last is open-ended (the table may have grown
		// since relpages was counted; the snapshot fixes what is read).
		lo, hi := pages*int64(i)/int64(n), pages*int64(i+1)/int64(n)
		if i == n-1 {
			hi = 0
		}
		sp, err := w.spillTable(ctx, q, r.tgt.TempDir(), read, lo, hi, n)
		out[i] = sp
		return err
	})
	if err != nil {
		out.remove()
		return nil, err
	}
	return out, nil
}

// checksums sets the content checksum of each new file's partition
// (silver and bronze).
func (t *tableRun) checksums(p *plan, files []ManifestFile) []ManifestFile {
	var byKey map[string]dayStats
	switch t.ts.detect {
	case detectContent:
		byKey = byGrain(t.days, p.grain)
	case detectLoads:
		byKey = map[string]dayStats{}
		for _, l := range t.loads {
			k := regroup([]string{l.day}, p.grain)[0]
			acc := byKey[k]
			acc.add(t.loadStats[l.id])
			byKey[k] = acc
		}
	default:
		return files
	}
	for i := range files {
		files[i].Checksum = byKey[files[i].Partition].checksum()
	}
	return files
}

// manifestLoads lists the loads of a bronze table's new version: the kept
// partitions' entries from the base manifest, the others computed.
func (t *tableRun) manifestLoads(p *plan) []ManifestLoad {
	prev := map[int64]ManifestLoad{}
	if t.base != nil {
		for _, l := range t.base.Loads {
			prev[l.LoadID] = l
		}
	}
	out := []ManifestLoad{}
	for _, l := range t.loads {
		k := regroup([]string{l.day}, p.grain)[0]
		if st, ok := t.loadStats[l.id]; ok {
			out = append(out, ManifestLoad{LoadID: l.id, Day: l.day, Partition: k, Rows: st.rows, Checksum: st.checksum()})
			continue
		}
		if ml, ok := prev[l.id]; ok {
			ml.Partition = k
			out = append(out, ml)
		}
	}
	return out
}

// record stores, in one transaction, the new state of every rewritten
// table in meta.export_tables (the next incremental export starts there)
// and, for bronze, the loads the export holds (meta.export_loads).
func (r *runState) record(ctx context.Context, lr layerRoot, written []tableWrite) error {
	if len(written) == 0 {
		return nil
	}
	tx, err := r.ctl.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // committed below
	for _, w := range written {
		m := w.pt.manifest
		_, err = tx.Exec(ctx, `INSERT INTO meta.export_tables AS t (target, table_name, last_change_id, last_load_id, partition_by,
			compression, schema_sha256, manifest_sha256, files, rows, bytes, run_id, exported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (target, table_name) DO UPDATE SET last_change_id = EXCLUDED.last_change_id,
				last_load_id = EXCLUDED.last_load_id, partition_by = EXCLUDED.partition_by, compression = EXCLUDED.compression,
				schema_sha256 = EXCLUDED.schema_sha256, manifest_sha256 = EXCLUDED.manifest_sha256, files = EXCLUDED.files,
				rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, run_id = EXCLUDED.run_id, exported_at = EXCLUDED.exported_at`,
			lr.String(), m.Table, m.LastChangeID, m.LastLoadID, m.PartitionBy, m.Compression, m.SchemaSHA256, w.pt.entry.ManifestSHA256,
			len(m.Files), m.Rows, m.Bytes, r.runID, m.ExportedAt)
		if err != nil {
			return fmt.Errorf("meta.export_tables: %w", err)
		}
		if len(m.Loads) > 0 {
			if err := recordLoads(ctx, tx, lr.String(), m, r.runID); err != nil {
				return err
			}
		}
	}
	return tx.Commit(ctx)
}

// dateClustered reports whether the table's rows are stored in date order
// (PostgreSQL's statistics: correlation of the date column close to 1), so
// that reading one partition touches only its own pages.
func dateClustered(ctx context.Context, q pgx.Tx, ts *tableSchema) (bool, error) {
	var corr *float64
	err := q.QueryRow(ctx, `SELECT correlation FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname = $3`,
		ts.table.Layer, ts.table.Name, ts.cols[ts.dateCol].name).Scan(&corr)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pg_stats: %w", err)
	}
	return corr != nil && *corr > 0.9, nil
}
