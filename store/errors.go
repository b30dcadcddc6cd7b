package store

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	attest "github.com/attest-hq/attest"
)

// Constraint violations are recognised by code, never by message text, so a
// driver upgrade that rewords an error cannot turn a 409 into a 500.
const (
	sqliteConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
	sqliteConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	pgUniqueViolation          = "23505"
)

// translate maps driver errors to the attest sentinels, keeping the cause.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			return fmt.Errorf("%w: %v", attest.ErrConflict, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		return fmt.Errorf("%w: %v", attest.ErrConflict, err)
	}
	return err
}
