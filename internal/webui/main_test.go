package webui_test

import (
	"os"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
