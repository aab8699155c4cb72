package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// subcommand returns the command at path of a fresh tree with its flags parsed.
func subcommand(t *testing.T, app *App, args []string, path ...string) *cobra.Command {
	t.Helper()
	conf, url := app.ConfigPath, app.DatabaseURL
	cmd, _, err := newRoot(app).Find(path)
	app.ConfigPath, app.DatabaseURL = conf, url
	if err != nil {
		t.Fatal(err)
	}
	// The tree's flags are bound to app (defining them resets its fields).
	if err := cmd.ParseFlags(append([]string{"--config", app.ConfigPath, "--database-url", app.DatabaseURL}, args...)); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// The run configuration of `novawh run` and `novawh serve --schedule`:
// flag, else environment, else novawh.yaml, else the default.
func TestRunSettingsPrecedence(t *testing.T) {
	t.Parallel()
	cfgPath := filepath.Join(t.TempDir(), "novawh.yaml")
	if err := os.WriteFile(cfgPath, []byte(`version: 1
run:
  pull: {offline: false}
  export: {to: /srv/file-exports}
  alert: {webhook: "http://file.example/hook", on_warning: true}
  lock_wait: 5m
  schedule: "0 3 * * *"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	allEnv := map[string]string{"NOVAWH_EXPORT_TO": "/srv/env-exports", "NOVAWH_ALERT_WEBHOOK": "http://env.example/hook", "NOVAWH_OFFLINE": "1"}
	type want struct {
		exportTo, webhook, schedule, tz string
		offline, onWarning, full        bool
		wait                            time.Duration
	}
	cases := []struct {
		name string
		cmd  []string
		args []string
		env  map[string]string
		want want
	}{
		{"file", []string{"run"}, nil, nil,
			want{"/srv/file-exports", "http://file.example/hook", "0 3 * * *", "America/Sao_Paulo", false, true, false, 5 * time.Minute}},
		{"environment beats file", []string{"run"}, nil, allEnv,
			want{"/srv/env-exports", "http://env.example/hook", "0 3 * * *", "America/Sao_Paulo", true, true, false, 5 * time.Minute}},
		{"flags beat both", []string{"run"}, []string{"--export-to", "/srv/flag", "--alert-webhook", "http://flag.example/hook",
			"--offline=false", "--alert-on-warning=false", "--wait", "1m", "--full"}, allEnv,
			want{"/srv/flag", "http://flag.example/hook", "0 3 * * *", "America/Sao_Paulo", false, false, true, time.Minute}},
		{"serve's schedule flags", []string{"serve"}, []string{"--schedule", "@daily", "--schedule-tz", "UTC"}, nil,
			want{"/srv/file-exports", "http://file.example/hook", "@daily", "UTC", false, true, false, 5 * time.Minute}},
		{"serve --schedule \"\" turns the file's schedule off", []string{"serve"}, []string{"--schedule", ""}, nil,
			want{"/srv/file-exports", "http://file.example/hook", "", "America/Sao_Paulo", false, true, false, 5 * time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := &App{ConfigPath: cfgPath, DatabaseURL: "postgres://127.0.0.1:1/x", Stdout: io.Discard, Stderr: io.Discard,
				LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			defer app.close()
			job, err := newNightlyJob(app, jobSpec{Cmd: subcommand(t, app, tc.args, tc.cmd...)})
			if err != nil {
				t.Fatal(err)
			}
			c := job.Config
			got := want{c.Export.To, c.Alert.Webhook, c.Schedule, c.ScheduleTZ, c.Pull.Offline, c.Alert.OnWarning, c.Refresh.Full && c.Export.Full, c.LockWait}
			if got != tc.want {
				t.Fatalf("resolved %+v\nwant     %+v", got, tc.want)
			}
			if job.Alert.URL != tc.want.webhook {
				t.Fatalf("alert sender posts to %q", job.Alert.URL)
			}
		})
	}
	// A bad value is a usage error naming its source.
	app := &App{ConfigPath: cfgPath, DatabaseURL: "postgres://127.0.0.1:1/x", Stdout: io.Discard, Stderr: io.Discard,
		LookupEnv: func(k string) (string, bool) {
			return map[string]string{"NOVAWH_OFFLINE": "maybe"}[k], k == "NOVAWH_OFFLINE"
		}}
	_, err := newNightlyJob(app, jobSpec{Cmd: subcommand(t, app, nil, "run")})
	if err == nil || !strings.Contains(err.Error(), `NOVAWH_OFFLINE="maybe"`) {
		t.Fatalf("bad NOVAWH_OFFLINE: %v", err)
	}
	app.LookupEnv = func(k string) (string, bool) { return "ftp://x", k == "NOVAWH_ALERT_WEBHOOK" }
	if _, err := newNightlyJob(app, jobSpec{Cmd: subcommand(t, app, nil, "run")}); err == nil || !strings.Contains(err.Error(), "alert webhook must be an http(s) URL") {
		t.Fatalf("bad webhook: %v", err)
	}
}
