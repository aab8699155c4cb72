// Package logx builds the structured slog logger every command receives:
// text or JSON lines to stderr and to a log file (logs/data_ingestion.log by
// default). Loggers are injected, never global.
package logx
