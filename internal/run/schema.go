package run

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pgerr"
)

// SchemaError: the database schema does not match this binary.
type SchemaError struct {
	Have, Want uint
	Dirty      bool
}

func (e *SchemaError) Error() string {
	switch {
	case e.Dirty:
		return fmt.Sprintf("database schema is dirty at version %d (a migration failed half-way): repair it, then run `novawh migrate force %d` and `novawh migrate up`", e.Have, e.Have)
	case e.Have < e.Want:
		return fmt.Sprintf("database schema is at version %d but this novawh needs %d: run `novawh migrate up` first", e.Have, e.Want)
	default:
		return fmt.Sprintf("database schema is at version %d, newer than this novawh knows (%d): upgrade novawh", e.Have, e.Want)
	}
}

// CheckSchema compares the applied migration version with the latest one
// embedded in the binary and refuses anything but an exact, clean match.
func CheckSchema(ctx context.Context, cc *pgx.ConnConfig) (uint, error) {
	want, err := migrate.Latest()
	if err != nil {
		return 0, err
	}
	m, err := migrate.New(ctx, cc)
	if err != nil {
		return 0, pgerr.ExplainConn(err)
	}
	defer m.Close()
	have, dirty, err := m.Version()
	if err != nil {
		return 0, err
	}
	if dirty || have != want {
		return have, &SchemaError{Have: have, Want: want, Dirty: dirty}
	}
	return have, nil
}
