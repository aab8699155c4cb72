package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/novacorrente/novawh/internal/progress"
)

// errNotConfirmed: the person at the terminal did not answer yes.
var errNotConfirmed = errors.New("not confirmed")

// confirm guards a command that deletes data. yes (the command's --yes,
// or migrate down --all) goes ahead. Otherwise, on a terminal, it asks
// question followed by [y/N] on stderr, as the stock golang-migrate CLI
// does, and goes ahead on y or yes; any other answer fails with notDone
// (exit 1). Without a terminal (scripts, CI, cron) it refuses with a usage
// error (exit 2) that says how to confirm.
func (a *App) confirm(question, how, notDone string, yes bool) error {
	if yes {
		return nil
	}
	if !a.interactive() {
		return Usage(fmt.Errorf("%s: refusing without confirmation (stdin is not a terminal): %s", strings.TrimSuffix(question, "?"), how))
	}
	fmt.Fprintf(a.Stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(a.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("%s: %w (no answer)", notDone, errNotConfirmed)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("%s: %w", notDone, errNotConfirmed)
}

// interactive reports whether a person can answer on stdin.
func (a *App) interactive() bool {
	if a.Interactive != nil {
		return a.Interactive()
	}
	return progress.IsTerminal(a.Stdin)
}
