// Package schedule runs a job on a cron schedule inside a long-running
// process (`novawh serve --schedule "0 2 * * *"`), in a configurable time
// zone (default America/Sao_Paulo; the zone database is embedded, so this
// works in minimal containers). It wraps github.com/robfig/cron/v3: a firing
// that finds the previous one still running is skipped, and stopping waits
// for the running job after cancelling its context. Runs in different
// processes are kept apart by the run lock of package run.
package schedule
