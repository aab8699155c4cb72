// Command novawh is the Nova Corrente analytics warehouse: see `novawh --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/novacorrente/novawh/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
