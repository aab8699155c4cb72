package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	wd, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("novawh", true) })
	if err != nil {
		t.Fatalf("docker-compose.yml does not load against the compose specification: %v", err)
	}
	return p
}

func env(t *testing.T, s types.ServiceConfig, k string) string {
	t.Helper()
	v, ok := s.Environment[k]
	if !ok || v == nil {
		t.Fatalf("service %s has no %s", s.Name, k)
	}
	return *v
}

// docker-compose.yml: valid, every image pinned to a release, a healthcheck
// for novawh, and every DATABASE_URL (the services' and README's) naming
// the credentials and database the db service creates.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	for name, s := range p.Services {
		img := s.Image
		_, tag, ok := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a release", name, img)
		}
		if s.Build == nil && !strings.ContainsAny(tag, ".0123456789") {
			t.Errorf("service %s: image %q: a pulled image needs a version tag", name, img)
		}
	}
	db, ok := p.Services["db"]
	if !ok {
		t.Fatal("no db service")
	}
	user, pass, name := env(t, db, "POSTGRES_USER"), env(t, db, "POSTGRES_PASSWORD"), env(t, db, "POSTGRES_DB")
	check := func(where, raw, host, port string) {
		t.Helper()
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		pw, _ := u.User.Password()
		if u.User.Username() != user || pw != pass || strings.TrimPrefix(u.Path, "/") != name || u.Hostname() != host || u.Port() != port {
			t.Errorf("%s: DATABASE_URL %s does not match the db service (user %s, password %s, database %s, %s:%s)", where, raw, user, pass, name, host, port)
		}
	}
	for _, svc := range []string{"migrate", "novawh"} {
		check("service "+svc, env(t, p.Services[svc], "DATABASE_URL"), "db", "5432")
	}
	var published string
	for _, port := range db.Ports {
		if port.Target == 5432 && port.HostIP == "127.0.0.1" {
			published = port.Published
		}
	}
	if published == "" {
		t.Fatal("db does not publish 5432 on 127.0.0.1")
	}
	// README's URLs for the host: the published port, the same credentials.
	readme := read(t, "../README.md")
	urls := regexp.MustCompile(`postgres://[^\s`+"`"+`'"]+@127\.0\.0\.1:`+published+`/[^\s`+"`"+`'"]+`).FindAllString(readme, -1)
	if len(urls) == 0 {
		t.Fatalf("README gives no DATABASE_URL for the compose database on 127.0.0.1:%s", published)
	}
	for _, u := range urls {
		check("README", u, "127.0.0.1", published)
	}
	hc := p.Services["novawh"].HealthCheck
	if hc == nil || hc.Disable || !strings.Contains(strings.Join(hc.Test, " "), "novawh health") {
		t.Fatalf("the novawh service has no `novawh health` healthcheck: %+v", hc)
	}
	if !strings.Contains(strings.Join(hc.Test, " "), "127.0.0.1:8080/health") {
		t.Errorf("healthcheck %v does not ask the port the service listens on", hc.Test)
	}
}

// The Dockerfile uses every ARG it declares, and its version flag reaches
// `novawh version`: the go build line is run here with VERSION=9.9.9-test.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	df := read(t, "../Dockerfile")
	for _, m := range regexp.MustCompile(`(?m)^ARG (\w+)`).FindAllStringSubmatch(df, -1) {
		if !regexp.MustCompile(`\$\{?` + m[1] + `\b`).MatchString(df) {
			t.Errorf("ARG %s is declared but never used", m[1])
		}
	}
	for _, img := range regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1) {
		if !strings.Contains(img[1], ":") || strings.HasSuffix(img[1], ":latest") {
			t.Errorf("FROM %s is not pinned", img[1])
		}
	}
	if !strings.Contains(df, `"novawh", "health"`) && !strings.Contains(df, `/novawh", "health"`) {
		t.Error("the image has no HEALTHCHECK running novawh health")
	}
	x := regexp.MustCompile(`-X (\S+)=\$\{VERSION\}`).FindStringSubmatch(df)
	if x == nil {
		t.Fatal("the go build line does not pass ${VERSION} with -ldflags -X")
	}
	bin := filepath.Join(t.TempDir(), "novawh")
	build := exec.Command("go", "build", "-ldflags", "-X "+x[1]+"=9.9.9-test", "-o", bin, "../cmd/novawh")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "novawh 9.9.9-test" {
		t.Fatalf("novawh version of a build with VERSION=9.9.9-test: %q %v", out, err)
	}
}

// decodeCronJob decodes strictly: an unknown or misplaced field is an error.
func decodeCronJob(b []byte) (*batchv1.CronJob, error) {
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict(b, &cj); err != nil {
		return nil, err
	}
	return &cj, nil
}

func TestCronJob(t *testing.T) {
	t.Parallel()
	cj, err := decodeCronJob([]byte(read(t, "k8s/cronjob.yaml")))
	if err != nil {
		t.Fatalf("deploy/k8s/cronjob.yaml does not decode strictly as a batch/v1 CronJob: %v", err)
	}
	if cj.APIVersion != "batch/v1" || cj.Kind != "CronJob" || cj.Spec.Schedule == "" || cj.Spec.TimeZone == nil || *cj.Spec.TimeZone != "America/Sao_Paulo" {
		t.Fatalf("CronJob %+v", cj)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("jobTemplate.spec.backoffLimit %v, want 0", job.BackoffLimit)
	}
	c := job.Template.Spec.Containers
	if len(c) != 1 || len(c[0].Args) == 0 || c[0].Args[0] != "run" || job.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("job template %+v", job.Template.Spec)
	}
	// The strict decoding is what refused the old documentation's CronJob,
	// which had backoffLimit under the CronJob's spec.
	old := strings.Replace(read(t, "k8s/cronjob.yaml"), "  startingDeadlineSeconds: 3600\n", "  startingDeadlineSeconds: 3600\n  backoffLimit: 0\n", 1)
	if _, err := decodeCronJob([]byte(old)); err == nil || !strings.Contains(err.Error(), "backoffLimit") {
		t.Fatalf("a misplaced backoffLimit was accepted: %v", err)
	}
}

// The systemd units: no value carries an inline comment (systemd has none:
// `EnvironmentFile=/etc/novawh/env  # ...` names a file with the comment in
// its name), and systemd-analyze verify accepts them when it is installed.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	units, err := filepath.Glob("systemd/*")
	if err != nil || len(units) < 2 {
		t.Fatalf("units %v: %v", units, err)
	}
	for _, u := range units {
		for _, p := range unitProblems(read(t, u)) {
			t.Errorf("%s:%s", u, p)
		}
	}
	// The check catches the old documentation's unit.
	if p := unitProblems("[Service]\nEnvironmentFile=/etc/novawh/env          # DATABASE_URL=...\n"); len(p) != 1 {
		t.Fatalf("the old unit's inline comment is not caught: %v", p)
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: only the static checks ran")
	}
	// A root holding the units, the novawh binary they start and the
	// system's own units (targets they refer to).
	root := t.TempDir()
	sys := filepath.Join(root, "etc", "systemd", "system")
	bindir := filepath.Join(root, "usr", "local", "bin")
	for _, d := range []string{sys, bindir, filepath.Join(root, "usr", "lib")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/usr/lib/systemd", filepath.Join(root, "usr", "lib", "systemd")); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(bindir, "novawh"), "../cmd/novawh")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var paths []string
	for _, u := range units {
		dst := filepath.Join(sys, filepath.Base(u))
		if err := os.WriteFile(dst, []byte(read(t, u)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, dst)
	}
	var out bytes.Buffer
	verify := exec.Command(sa, append([]string{"verify", "--root=" + root}, paths...)...)
	verify.Stdout, verify.Stderr = &out, &out
	if err := verify.Run(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "novawh-run") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	cal := regexp.MustCompile(`(?m)^OnCalendar=(.+)$`).FindStringSubmatch(read(t, "systemd/novawh-run.timer"))
	if cal == nil {
		t.Fatal("the timer has no OnCalendar")
	}
	if out, err := exec.Command(sa, "calendar", cal[1]).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze calendar %q: %v\n%s", cal[1], err, out)
	}
}

// unitProblems lists the lines of a systemd unit that are not Key=Value or
// whose value has an inline comment.
func unitProblems(unit string) []string {
	var out []string
	for i, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		switch {
		case !ok || strings.TrimSpace(k) == "":
			out = append(out, fmt.Sprintf("%d: not Key=Value: %q", i+1, line))
		case strings.Contains(v, " #") || strings.Contains(v, "\t#"):
			out = append(out, fmt.Sprintf("%d: %s has an inline comment, which systemd reads as part of the value", i+1, k))
		}
	}
	return out
}

// docs/operations.md shows the files themselves: each fenced block after a
// <!-- file: PATH --> marker is that file's content, byte for byte.
func TestDocsShowTheFiles(t *testing.T) {
	t.Parallel()
	doc := read(t, "../docs/operations.md")
	re := regexp.MustCompile("(?s)<!-- file: (\\S+) -->\\n```[a-z]*\\n(.*?)```\\n")
	found := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		found[m[1]] = true
		if want := read(t, filepath.Join("..", m[1])); m[2] != want {
			t.Errorf("docs/operations.md shows %s differently from the file", m[1])
		}
	}
	for _, f := range []string{"deploy/k8s/cronjob.yaml", "deploy/systemd/novawh-run.service", "deploy/systemd/novawh-run.timer"} {
		if !found[f] {
			t.Errorf("docs/operations.md does not show %s", f)
		}
	}
}

// The test-only libraries above stay out of the novawh binary.
func TestBinaryLinksNoDeployLibraries(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "../cmd/novawh").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, p := range []string{"github.com/compose-spec/", "k8s.io/", "sigs.k8s.io/"} {
			if strings.HasPrefix(dep, p) {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
}

// make help writes no colour codes into a pipe (it did), and lists the
// targets README names.
func TestMakeHelpPlainInPipes(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	cmd := exec.Command("make", "-s", "--no-print-directory", "help")
	cmd.Dir = ".."
	out, err := cmd.Output() // stdout is a pipe
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	if bytes.Contains(out, []byte("\x1b[")) {
		t.Fatalf("make help wrote escape codes into a pipe: %q", out)
	}
	for _, target := range []string{"demo", "test", "bench", "db-start", "db-stop"} {
		if !regexp.MustCompile(`(?m)^  ` + target + ` +\S`).Match(out) {
			t.Errorf("make help lacks %s:\n%s", target, out)
		}
	}
}
