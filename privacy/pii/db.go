package pii

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Databases are read, never written: SQLite is opened read-only with
// query_only set, PostgreSQL reads run in READ ONLY transactions. Each table
// is read once, every text-like column of it together, up to Rows rows (or
// all with Full); each value is scanned with its table and column names as
// context, so the report is an inventory of which columns hold what.

// column is one column chosen for scanning.
type column struct {
	name string
	ctx  ctxInfo
}

// dbTable is a table to scan and how to read it.
type dbTable struct {
	display string // "schema.table" or "table"
	query   string
	cols    []column
}

const connectTimeout = 10 * time.Second

func (s *Scanner) scanDatabase(ctx context.Context, target string) error {
	if strings.HasPrefix(target, "sqlite:") {
		return s.scanSQLite(ctx, strings.TrimPrefix(target, "sqlite:"))
	}
	return s.scanPostgres(ctx, target)
}

// redactURL hides a password in a database URL.
func redactURL(t string) string {
	if u, err := url.Parse(t); err == nil && u.User != nil {
		return u.Redacted()
	}
	return t
}

// textLike reports whether a column's declared type holds text worth
// scanning; numbers and dates are scanned too when the column's name points
// to personal data (an SSN kept as an integer, a birth date as a date).
func textLike(declared string, name ctxInfo) bool {
	t := strings.ToLower(declared)
	for _, k := range []string{"char", "text", "clob", "json", "xml", "citext", "inet", "cidr", "name", "uuid"} {
		if strings.Contains(t, k) {
			return !strings.Contains(t, "uuid")
		}
	}
	if t == "" { // SQLite: no declared type holds anything
		return true
	}
	if strings.Contains(t, "blob") || strings.Contains(t, "bytea") || strings.Contains(t, "bool") {
		return false
	}
	return name.pos != 0
}

func (s *Scanner) scanSQLite(ctx context.Context, p string) error {
	p = strings.TrimPrefix(p, "//")
	if p == "" {
		return errors.New("sqlite: no path (use sqlite:PATH)")
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("sqlite: %s", describeFSError(err))
	}
	dsn := "file:" + (&url.URL{Path: p}).EscapedPath() + "?mode=ro&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	names, err := queryStrings(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("sqlite: not a database, or unreadable: %w", err)
	}
	for _, table := range names {
		if ctx.Err() != nil {
			return nil
		}
		t, err := s.sqliteTable(ctx, db, table)
		if err != nil {
			s.skip("sqlite:"+p+" table "+table, err.Error())
			continue
		}
		if t != nil {
			s.scanTable(ctx, db, t, false, "sqlite:"+p)
		}
	}
	return nil
}

func quoteSQLite(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

func (s *Scanner) sqliteTable(ctx context.Context, db *sql.DB, table string) (*dbTable, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	t := &dbTable{display: table}
	var sel []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("list columns: %w", err)
		}
		c := column{name, nameContext(table).or(nameContext(name))}
		if !textLike(typ, nameContext(name)) {
			continue
		}
		t.cols = append(t.cols, c)
		sel = append(sel, fmt.Sprintf("substr(CAST(%s AS TEXT), 1, %d)", quoteSQLite(name), s.cfg.MaxCellBytes))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	if len(t.cols) == 0 {
		return nil, nil
	}
	t.query = "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteSQLite(table)
	if !s.cfg.Full {
		t.query += fmt.Sprintf(" LIMIT %d", s.cfg.Rows)
	}
	return t, nil
}

func (s *Scanner) scanPostgres(ctx context.Context, target string) error {
	shown := redactURL(target)
	// pgx's parse errors quote the URL, password included: say it plainly.
	if _, err := pgx.ParseConfig(target); err != nil {
		return errors.New("postgres: the URL is not valid")
	}
	db, err := sql.Open("pgx", target)
	if err != nil {
		return errors.New("postgres: the URL is not valid")
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return fmt.Errorf("postgres: cannot connect: %s", pgMessage(err))
	}
	q := `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
		AND table_schema NOT LIKE 'pg\_%'`
	var args []any
	if len(s.cfg.Schemas) > 0 {
		q += ` AND table_schema = ANY($1)`
		args = append(args, s.cfg.Schemas)
	}
	q += ` ORDER BY 1, 2`
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("postgres: list tables: %s", pgMessage(err))
	}
	var tables [][2]string
	for rows.Next() {
		var sc, tb string
		if err := rows.Scan(&sc, &tb); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: list tables: %s", pgMessage(err))
		}
		tables = append(tables, [2]string{sc, tb})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: list tables: %s", pgMessage(err))
	}
	for _, st := range tables {
		if ctx.Err() != nil {
			return nil
		}
		t, err := s.postgresTable(ctx, db, st[0], st[1])
		if err != nil {
			s.skip(shown+" table "+st[0]+"."+st[1], err.Error())
			continue
		}
		if t != nil {
			s.scanTable(ctx, db, t, true, shown)
		}
	}
	return nil
}

func (s *Scanner) postgresTable(ctx context.Context, db *sql.DB, schema, table string) (*dbTable, error) {
	rows, err := db.QueryContext(ctx, `SELECT column_name, data_type, udt_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("list columns: %s", pgMessage(err))
	}
	defer rows.Close()
	t := &dbTable{display: schema + "." + table}
	var sel []string
	for rows.Next() {
		var name, typ, udt string
		if err := rows.Scan(&name, &typ, &udt); err != nil {
			return nil, fmt.Errorf("list columns: %s", pgMessage(err))
		}
		if typ == "ARRAY" || typ == "USER-DEFINED" {
			typ = udt
		}
		if !textLike(typ, nameContext(name)) {
			continue
		}
		t.cols = append(t.cols, column{name, nameContext(table).or(nameContext(name))})
		sel = append(sel, fmt.Sprintf("left(%s::text, %d)", pgx.Identifier{name}.Sanitize(), s.cfg.MaxCellBytes))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns: %s", pgMessage(err))
	}
	if len(t.cols) == 0 {
		return nil, nil
	}
	t.query = "SELECT " + strings.Join(sel, ", ") + " FROM " + pgx.Identifier{schema, table}.Sanitize()
	if !s.cfg.Full {
		t.query += fmt.Sprintf(" LIMIT %d", s.cfg.Rows)
	}
	return t, nil
}

// pgMessage describes a PostgreSQL error by its code and message (which name
// objects, not values) and a connection error plainly.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// scanTable reads one table in a read-only transaction and scans its values.
func (s *Scanner) scanTable(ctx context.Context, db *sql.DB, t *dbTable, postgres bool, where string) {
	fail := func(what string, err error) {
		msg := err.Error()
		if postgres {
			msg = pgMessage(err)
		}
		s.skip(where+" table "+t.display, what+": "+msg)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: postgres})
	if err != nil {
		fail("begin", err)
		return
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, t.query)
	if err != nil {
		fail("read", err)
		return
	}
	defer rows.Close()
	s.tables.Add(1)
	vals := make([]sql.RawBytes, len(t.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var row int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			fail("read", err)
			return
		}
		row++
		s.rows.Add(1)
		for i, v := range vals {
			if len(v) == 0 {
				continue
			}
			s.bytes.Add(int64(len(v)))
			col := t.cols[i]
			s.det.scanBytes(v, col.ctx, func(m match, red string) {
				s.report(Finding{Type: m.typ, Table: t.display, Column: col.name, Row: row, Confidence: m.conf, Redacted: red})
			})
		}
	}
	if err := rows.Err(); err != nil {
		fail("read", err)
	}
}

func queryStrings(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
