// Package deploy holds the deployment files that docs/operations.md shows
// (k8s/cronjob.yaml, systemd/novawh-run.service and .timer) and the tests
// that check them, with the repository's Dockerfile and docker-compose.yml,
// without Docker or a cluster: the compose file against the compose
// specification (compose-go), the CronJob strictly against the Kubernetes
// API types, the systemd units with systemd-analyze when it is installed.
// Those libraries are test-only: the novawh binary does not link them.
// The Makefile's help target is checked here too (plain text in pipes).
package deploy
