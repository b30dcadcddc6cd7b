// Package store is the database machinery shared by every domain package:
// opening SQLite or PostgreSQL, the one ordered migration set, transactions
// that append to the audit log, and the translation of driver errors into
// sentinels. It knows nothing of controls, users or policies.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL through database/sql
	_ "modernc.org/sqlite"             // pure-Go SQLite keeps the binary static

	attest "github.com/attest-hq/attest"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where the database lives.
type Config struct {
	DataDir string // SQLite file lives here when URL is empty
	URL     string // postgres://... selects PostgreSQL
}

// DB is an open database with its migrations applied.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	now     func() time.Time
}

// SQLiteFile is the database file name inside the data directory.
const SQLiteFile = "attest.db"

// Open connects to the database described by cfg and applies pending
// migrations. It fails with a message that names the problem when the
// server does not answer or the file is not a database.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	var db *DB
	var err error
	if cfg.URL != "" {
		db, err = openPostgres(ctx, cfg.URL)
	} else {
		db, err = openSQLite(ctx, cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, fmt.Errorf("database URL must start with postgres:// (got %q)", redactURL(url))
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL %s: %w", redactURL(url), err)
	}
	conn.SetMaxOpenConns(20)
	conn.SetMaxIdleConns(5)
	conn.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := conn.PingContext(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("PostgreSQL at %s does not answer: %w", redactURL(url), err)
	}
	return &DB{sql: conn, dialect: Postgres, now: time.Now}, nil
}

func openSQLite(ctx context.Context, dir string) (*DB, error) {
	if dir == "" {
		return nil, errors.New("no data directory given")
	}
	path := filepath.Join(dir, SQLiteFile)
	// IMMEDIATE transactions take the write lock at BEGIN, so two writers
	// queue on busy_timeout instead of failing mid-transaction; that is what
	// keeps the audit chain linear without SELECT ... FOR UPDATE.
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	conn.SetMaxOpenConns(8)
	var check string
	if err := conn.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		conn.Close()
		return nil, fmt.Errorf("SQLite database %s is unreadable or not a database (%v); restore it from a backup or move it aside", path, err)
	}
	if check != "ok" {
		conn.Close()
		return nil, fmt.Errorf("SQLite database %s failed its integrity check: %s", path, check)
	}
	return &DB{sql: conn, dialect: SQLite, now: time.Now}, nil
}

// redactURL hides the password of a database URL in messages.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	creds := u[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return u[:scheme+3] + creds[:i] + ":***" + u[at:]
	}
	return u
}

// Close releases the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect reports the engine in use.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers; /healthz uses it.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Now is the clock every write uses, truncated to microseconds because
// that is what PostgreSQL keeps; hashing a value the database would round
// differently would break the audit chain.
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// SetClock replaces the clock; tests use it to make time move.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Querier is what reads take: the DB itself or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Q returns the DB as a Querier for reads outside a transaction.
func (db *DB) Q() Querier { return querier{db} }

type querier struct{ db *DB }

func (q querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.db.sql.QueryContext(ctx, query, args...)
	return rows, translate(err)
}

func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.db.sql.QueryRowContext(ctx, query, args...)
}

func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.db.sql.ExecContext(ctx, query, args...)
	return res, translate(err)
}

// Tx is a write transaction. Every change made through it is recorded in
// the audit log by Record before it commits.
type Tx struct {
	tx    *sql.Tx
	db    *DB
	actor attest.Actor
	now   time.Time
}

// QueryContext runs a query inside the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	return rows, translate(err)
}

// QueryRowContext runs a single-row query inside the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement inside the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(ctx, query, args...)
	return res, translate(err)
}

// Actor is who the transaction acts for.
func (tx *Tx) Actor() attest.Actor { return tx.actor }

// InOrg returns the same transaction acting in org, for work that creates
// an org and then fills it within one transaction (set-up, attest init):
// the actor had no org when the transaction began.
func (tx *Tx) InOrg(org attest.OrgID) *Tx {
	c := *tx
	c.actor.OrgID = org
	return &c
}

// Now is the single timestamp of the transaction: every row it writes and
// its audit entries carry the same instant.
func (tx *Tx) Now() time.Time { return tx.now }

// Dialect reports the engine in use, for the rare query that differs.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Lock takes a named lock held until the transaction ends, for checks that
// must not race across instances (first-run set-up). On PostgreSQL it is a
// transaction-level advisory lock; SQLite's IMMEDIATE transactions already
// serialise every writer.
func (tx *Tx) Lock(ctx context.Context, name string) error {
	if tx.db.dialect != Postgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64()))
	return err
}

// InTx runs fn in a transaction on behalf of actor and commits when fn
// returns nil. fn must call tx.Record for each change so the audit entry
// commits with it; a failed fn rolls back everything, entries included.
func (db *DB) InTx(ctx context.Context, actor attest.Actor, fn func(tx *Tx) error) error {
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", translate(err))
	}
	tx := &Tx{tx: sqlTx, db: db, actor: actor, now: db.Now()}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}

// ScanOne turns sql.ErrNoRows into attest.ErrNotFound so that callers can
// map it to a NotFound naming what they looked for.
func ScanOne(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return attest.ErrNotFound
	}
	return translate(err)
}

// EnsureDir creates the data directory if needed and checks that it is
// writable, so that a bad --data fails at start with a clear message.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("no data directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	probe.Close()
	return os.Remove(name)
}
