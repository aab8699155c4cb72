// Package logx builds the structured slog logger every command receives:
// text or JSON lines to stderr and, for the commands that do pipeline work,
// JSON lines to a log file (logs/data_ingestion.log by default) created on
// the first line written. Loggers are injected, never global.
//
// Conventions every package keeps (docs/operations.md, "Logs"):
//   - a duration is duration_ms, whole milliseconds (logx.Since,
//     logx.Duration); any other time.Duration value is written as
//     <key>_ms in milliseconds by ReplaceDurations, never in nanoseconds;
//   - every line a run of the nightly job emits carries run_id: the job
//     gives each step a logger With("run_id", id).
package logx
