// Package alert posts Slack-compatible webhook messages ({"text": "..."})
// for the nightly job: retries with exponential backoff on network errors,
// 429 and 5xx answers, and never leaks secrets (every connection string or
// URL with credentials in the text is redacted before sending).
package alert
