package load

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/panics"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/registry"
)

// run loads one input by the ledger's protocol (ledger.Input): one
// transaction holds its meta.loads row, its bronze rows and its rejects.
func (l *Loader) run(ctx context.Context, src *Source, tbl *registry.Table, ml bool, in *input, opts Options) Result {
	started := time.Now()
	ld, meta, err := describe(src, in, opts, ml)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
	}
	// Same content already loaded: skip before doing any work.
	if ld.SHA256 != "" && !opts.Force {
		if id, ok, err := ledger.LoadedBefore(ctx, l.pool, ld); err != nil {
			return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
		} else if ok {
			return l.skip(ctx, in, ld, id, started)
		}
	}
	if in.shaDone != nil && !opts.Force {
		go l.watchForSkip(ctx, in, ld)
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, fmt.Errorf("connect: %w", err), started)
	}
	defer conn.Release()
	lin, err := ledger.Begin(ctx, conn, ld)
	if err != nil {
		return l.fail(ctx, src, in, ld, ledger.Counts{}, err, started)
	}
	defer lin.Rollback(ctx)
	j := &job{l: l, src: src, tbl: tbl, in: in, opts: opts, lin: lin}
	defer j.closeStages(ctx)
	counts, err := j.load(ctx, meta, ml)
	if errors.Is(err, errAlreadyLoaded) {
		lin.Rollback(ctx)
		ld = lin.Load()
		if in.waitSHA() == nil {
			ld.SHA256 = in.sha
		}
		return l.skip(ctx, in, ld, in.skipID.Load(), started)
	}
	if err == nil {
		var earlier int64
		if earlier, err = j.commit(ctx, counts); err == nil && earlier != 0 {
			j.rollback(ctx)
			return l.skip(ctx, in, lin.Load(), earlier, started)
		}
	}
	if err != nil {
		j.rollback(ctx)
		return l.fail(ctx, src, in, lin.Load(), counts, err, started)
	}
	r := Result{File: in.name, Source: src.Name, LoadID: lin.ID(), Status: ledger.StatusLoaded,
		RowsRead: counts.Read, RowsLoaded: counts.Loaded, RowsRejected: counts.Rejected}
	l.logResult(r, time.Since(started), &counts)
	return r
}

// describe is the input's meta.loads row before loading, and its ML
// metadata.
func describe(src *Source, in *input, opts Options, ml bool) (ledger.Load, resolvedMeta, error) {
	ld := ledger.Load{Source: src.Name, FileName: in.name, Bytes: max(in.size, 0), TargetTable: src.Table, SameNameOnly: in.sameNameOnly}
	if in.shaDone == nil && in.hasher == nil {
		ld.SHA256 = in.sha // known before loading
	}
	meta, err := resolveMeta(in, opts)
	if err != nil || !ml {
		return ld, meta, err
	}
	ld.ModelVersion, ld.MLSource, ld.DatasetID = meta.values["model_version"], meta.values["source"], meta.values["dataset_id"]
	if g := meta.values["generated_at"]; g != "" {
		t, _ := time.Parse(time.RFC3339Nano, g)
		ld.GeneratedAt = &t
	}
	return ld, meta, nil
}

// watchForSkip stops the load early when the file's hash, computed while
// it loads, shows the same content was loaded before.
func (l *Loader) watchForSkip(ctx context.Context, in *input, ld ledger.Load) {
	var perr error
	defer panics.Recover(&perr, "the skip check")
	if in.waitSHA() != nil {
		return
	}
	ld.SHA256 = in.sha
	if id, ok, err := ledger.LoadedBefore(ctx, l.pool, ld); err == nil && ok {
		in.skipID.Store(id)
	}
}

// job is one input being loaded: its ledger transaction and its parallel
// stream stages.
type job struct {
	l               *Loader
	src             *Source
	tbl             *registry.Table
	in              *input
	opts            Options
	lin             *ledger.Input
	stages          []*stage
	stagesCommitted bool // from then on, a failure drops them
}

// load reads, validates and writes the rows and rejects of the input.
func (j *job) load(ctx context.Context, meta resolvedMeta, ml bool) (ledger.Counts, error) {
	in, src := j.in, j.src
	rr, header, bar, err := j.l.open(in, src, j.opts)
	defer bar.Done()
	if err != nil {
		return ledger.Counts{Lines: linesOf(rr)}, err
	}
	p, err := buildPlan(src, j.tbl, header, in.base, meta, ml)
	if err != nil {
		if in.format == "csv" {
			err = withDelimiterHint(err, header, src.Dialect.Delimiter)
		}
		return ledger.Counts{Lines: linesOf(rr)}, err
	}
	if pr, ok := rr.(*parquetReader); ok {
		if err := pr.check(p); err != nil {
			return ledger.Counts{}, err
		}
	}
	p.loadID, p.file, p.format = j.lin.ID(), in.name, in.format
	if len(p.ignored) > 0 {
		j.l.log.Debug("columns not loaded", "file", in.name, "source", src.Name, "columns", p.ignored)
	}
	targets, err := j.targets(ctx)
	if err != nil {
		return ledger.Counts{}, err
	}
	if len(j.stages) > 0 {
		p.dropLoadIDColumn()
	}
	rej := &spill{limit: 4 << 20}
	defer rej.close()
	st, err := j.l.stream(ctx, p, rr, rej, targets, func() bool { return in.skipID.Load() != 0 })
	counts := ledger.Counts{Read: st.read, Loaded: st.loaded, Rejected: st.rejected, Lines: linesOf(rr)}
	if st.hasDate {
		lo, hi := daysToTime(st.minDate), daysToTime(st.maxDate)
		counts.MinDate, counts.MaxDate = &lo, &hi
	}
	if err != nil {
		return counts, err
	}
	if len(j.stages) > 0 {
		j.stagesCommitted = true
		if err := j.l.commitStages(ctx, j.tbl, j.stages); err != nil {
			return counts, err
		}
		if err := attachStages(ctx, j.lin.Tx(), j.tbl, j.stages); err != nil {
			return counts, err
		}
	}
	if err := checkRejectRatio(st, j.opts.MaxRejectRatio); err != nil {
		return counts, err
	}
	if st.rejected > 0 {
		body, err := rej.reader()
		if err != nil {
			return counts, fmt.Errorf("read back rejected rows: %w", err)
		}
		if err := j.lin.CopyRejects(ctx, body); err != nil {
			return counts, err
		}
	}
	return counts, nil
}

// targets are the COPY streams of the input: its own transaction, or one
// stage per parallel stream.
func (j *job) targets(ctx context.Context) ([]copyTarget, error) {
	streams := j.opts.Streams
	if streams == 0 {
		streams = 1
		if j.in.format == "csv" && j.in.size >= ParallelMinBytes {
			streams = DefaultStreams
		}
	}
	// The input's connection, one per stream and one spare (drop, skip
	// check) must fit in the pool.
	if m := int(j.l.pool.Config().MaxConns) - 2; streams > m {
		streams = max(m, 1)
	}
	tx := j.lin.Tx()
	if streams == 1 {
		return []copyTarget{{conn: tx.Conn().PgConn(), table: pgx.Identifier{j.tbl.Layer, j.tbl.Name}.Sanitize()}}, nil
	}
	if err := pglock.Xact(ctx, tx, pglock.LoadStage(j.lin.ID())); err != nil {
		return nil, fmt.Errorf("lock load stages: %w", err)
	}
	if err := j.l.cleanupStages(ctx); err != nil {
		j.l.log.Warn("leftover load stages not dropped", "err", err)
	}
	var err error
	if j.stages, err = j.l.openStages(ctx, j.tbl, j.lin.ID(), streams); err != nil {
		return nil, err
	}
	var targets []copyTarget
	for _, s := range j.stages {
		targets = append(targets, copyTarget{conn: s.conn.Conn().PgConn(), table: s.qualified()})
	}
	return targets, nil
}

func checkRejectRatio(st streamStats, maxRatio float64) error {
	if maxRatio == 0 {
		maxRatio = DefaultMaxRejectRatio
	}
	if st.read > 0 && float64(st.rejected)/float64(st.read) > maxRatio {
		return fmt.Errorf("%d of %d rows rejected (%.1f%%), above the %.1f%% threshold (--max-reject-ratio); first: line %d: %s",
			st.rejected, st.read, 100*float64(st.rejected)/float64(st.read), 100*maxRatio, st.firstReject.Line, st.firstReject.Reason)
	}
	return nil
}

// commit records the content, claims it (skip if loaded before: earlier is
// then the earlier load), marks the input loaded, runs the BeforeCommit
// hook and commits.
func (j *job) commit(ctx context.Context, counts ledger.Counts) (earlier int64, err error) {
	in := j.in
	if err := in.waitSHA(); err != nil {
		return 0, err
	}
	if in.hasher != nil || in.shaDone != nil {
		n := in.size
		if in.hasher != nil {
			in.sha, n = hex.EncodeToString(in.hasher.Sum(nil)), in.counter.n
		}
		if err := j.lin.SetContent(ctx, in.sha, n); err != nil {
			return 0, err
		}
	}
	earlier, loaded, err := j.lin.Claim(ctx)
	if err != nil {
		return 0, err
	}
	if loaded && !j.opts.Force {
		return earlier, nil
	}
	if err := j.lin.Finish(ctx, counts); err != nil {
		return 0, err
	}
	if j.opts.BeforeCommit != nil {
		if err := j.opts.BeforeCommit(ctx, j.lin.Tx(), j.lin.ID(), counts); err != nil {
			return 0, err
		}
	}
	return 0, j.lin.Commit(ctx)
}

// rollback ends the input's transaction and drops stages already committed.
func (j *job) rollback(ctx context.Context) {
	j.lin.Rollback(ctx)
	if j.stagesCommitted {
		j.l.dropStages(ctx, j.stages)
	}
}

func (j *job) closeStages(ctx context.Context) {
	if len(j.stages) > 0 {
		closeStages(ctx, j.stages)
	}
}

func (l *Loader) skip(ctx context.Context, in *input, ld ledger.Load, earlier int64, started time.Time) Result {
	if ld.SHA256 == "" {
		ld.SHA256 = in.sha
	}
	reason := fmt.Sprintf("same content (sha256 %s) already loaded as load %d; --force reloads", short(ld.SHA256), earlier)
	if in.skipReason != nil {
		reason = in.skipReason(earlier)
	}
	id, err := ledger.RecordSkip(context.WithoutCancel(ctx), l.pool, ld, reason)
	r := Result{File: in.name, Source: ld.Source, LoadID: id, Status: ledger.StatusSkipped}
	if err != nil {
		r.Status, r.Error = ledger.StatusFailed, err.Error()
	}
	l.logResult(r, time.Since(started), nil)
	return r
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// fail records a failed input (after its transaction rolled back): every
// row read counts as rejected (ledger.RecordFailure).
func (l *Loader) fail(ctx context.Context, src *Source, in *input, ld ledger.Load, c ledger.Counts, cause error, started time.Time) Result {
	msg := in.name + ": " + cause.Error()
	if ld.SHA256 == "" && in.waitSHA() == nil {
		ld.SHA256 = in.sha
	}
	if ld.SHA256 == "" && in.hasher != nil {
		ld.SHA256 = hex.EncodeToString(in.hasher.Sum(nil))
		ld.Bytes = in.counter.n
	}
	id, err := ledger.RecordFailure(context.WithoutCancel(ctx), l.pool, ld, c, errors.New(msg))
	if err != nil {
		msg += " (and recording the failure failed: " + err.Error() + ")"
	}
	r := Result{File: in.name, Source: src.Name, LoadID: id, Status: ledger.StatusFailed,
		RowsRead: c.Read, RowsRejected: c.Read, Error: msg}
	l.logResult(r, time.Since(started), nil)
	return r
}

func (l *Loader) logResult(r Result, elapsed time.Duration, c *ledger.Counts) {
	attrs := []any{"file", r.File, "source", r.Source, "load_id", r.LoadID, "status", r.Status,
		"rows_read", r.RowsRead, "rows_loaded", r.RowsLoaded, "rows_rejected", r.RowsRejected,
		"duration_ms", elapsed.Milliseconds()}
	if c != nil && c.MinDate != nil {
		attrs = append(attrs, "min_date", c.MinDate.Format(time.DateOnly), "max_date", c.MaxDate.Format(time.DateOnly))
	}
	if r.Status == ledger.StatusFailed {
		l.log.Error("load", append(attrs, "error", r.Error)...)
		return
	}
	l.log.Info("load", attrs...)
}
