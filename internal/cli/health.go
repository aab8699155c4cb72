package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthCmd is the container healthcheck: the image has no shell, curl
// or wget, so novawh asks its own API.
func newHealthCmd(app *App) *cobra.Command {
	var (
		url     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running novawh serve for GET /health: exit 0 when it answers ok or degraded",
		Long: `Request GET /health of a running ` + "`novawh serve`" + ` and print its status. Exit 0 when
the API answers 200 (status ok, or degraded: the Parquet folder is not
readable), 1 when it answers an error (503: database unreachable, an ML
dependency in the binary) or does not answer within --timeout. Used as the
healthcheck of the Docker image and of docker-compose.yml.`,
		Example: `  novawh health
  novawh health --url http://127.0.0.1:8080/health --timeout 3s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &http.Client{Timeout: timeout}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, url, nil)
			if err != nil {
				return Usage(fmt.Errorf("--url %q: %w", url, err))
			}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("health: read %s: %w", url, err)
			}
			var h struct {
				Status   string `json:"status"`
				Database string `json:"database"`
			}
			_ = json.Unmarshal(body, &h) // a non-JSON answer keeps an empty status
			fmt.Fprintf(app.Stdout, "%s: HTTP %d, status %q, database %q\n", url, resp.StatusCode, h.Status, h.Database)
			if resp.StatusCode != http.StatusOK || (h.Status != "ok" && h.Status != "degraded") {
				return fmt.Errorf("health: %s answered HTTP %d with status %q", url, resp.StatusCode, h.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/health", "health endpoint of the API")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}
