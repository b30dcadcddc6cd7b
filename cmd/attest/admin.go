package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/onboard"
	"github.com/attest-hq/attest/store"
)

// storeFlags are the settings every command that touches the database
// shares; flags win over the environment.
type storeFlags struct {
	data string
	url  string
}

func (sf *storeFlags) register(fs *flag.FlagSet, e *env) {
	def := e.getenv("ATTEST_DATA")
	if def == "" {
		def = "./attest-data"
	}
	fs.StringVar(&sf.data, "data", def, "data directory (env ATTEST_DATA)")
	fs.StringVar(&sf.url, "database-url", e.getenv("ATTEST_DATABASE_URL"), "PostgreSQL URL; empty for SQLite in the data directory (env ATTEST_DATABASE_URL)")
}

// open prepares the data directory and opens the database.
func (sf *storeFlags) open(e *env) (*store.DB, error) {
	if err := store.EnsureDir(sf.data); err != nil {
		return nil, err
	}
	return store.Open(e.ctx, store.Config{DataDir: sf.data, URL: sf.url})
}

// openExisting is open for commands that read or change what `attest init`
// or `serve` created: a data dir that does not exist is a mistake there.
func (sf *storeFlags) openExisting(e *env) (*store.DB, error) {
	if sf.url == "" {
		if _, err := os.Stat(filepath.Join(sf.data, store.SQLiteFile)); err != nil {
			return nil, fmt.Errorf("no Attest database in %s (run 'attest init' or 'attest serve' first, or pass --data)", sf.data)
		}
	}
	return sf.open(e)
}

// loadKeyring takes the master key from ATTEST_MASTER_KEY when several
// stateless instances share one, else from (or into) DATA/master.key.
func loadKeyring(e *env, dataDir string) (*keyring.Keyring, error) {
	if v := e.getenv("ATTEST_MASTER_KEY"); v != "" {
		kr, err := keyring.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("ATTEST_MASTER_KEY: %w", err)
		}
		return kr, nil
	}
	kr, _, err := keyring.LoadOrCreate(filepath.Join(dataDir, "master.key"))
	return kr, err
}

func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func require(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return usageError{"--" + name + " is required"}
	}
	return nil
}

func cliActor(org attest.OrgID) attest.Actor {
	return attest.Actor{Email: "cli", OrgID: org, Role: attest.RoleOwner, Via: "cli"}
}

func runInit(e *env, args []string) error {
	fs := newFlags(e, "init")
	var sf storeFlags
	sf.register(fs, e)
	org := fs.String("org", "", "organisation name")
	email := fs.String("email", "", "owner's email address")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := errors.Join(noArgs(fs), require("org", *org), require("email", *email)); err != nil {
		return err
	}
	// Check the input before touching the disk, so a typo creates nothing.
	if _, err := account.ValidateOrgName(*org); err != nil {
		return err
	}
	if _, err := account.NormalizeEmail("email", *email); err != nil {
		return err
	}
	db, err := sf.open(e)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := loadKeyring(e, sf.data); err != nil {
		return err
	}
	var made onboard.Result
	err = db.InTx(e.ctx, cliActor(""), func(tx *store.Tx) error {
		made, err = onboard.NewOrg(e.ctx, tx, *org, *email)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created organisation %q with %d controls and its owner %s.\n", made.Org.Name, made.Controls, made.Owner.Email)
	if made.Password == "" {
		fmt.Fprintln(e.stdout, "That user already existed and keeps their password.")
		return nil
	}
	fmt.Fprintf(e.stdout, "One-time password (change it at first login):\n%s\n", made.Password)
	return nil
}

func runUserAdd(e *env, args []string) error {
	fs := newFlags(e, "user add")
	var sf storeFlags
	sf.register(fs, e)
	org := fs.String("org", "", "organisation name")
	email := fs.String("email", "", "user's email address")
	role := fs.String("role", "", "owner, admin, member, auditor or viewer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := errors.Join(noArgs(fs), require("org", *org), require("email", *email), require("role", *role)); err != nil {
		return err
	}
	r, err := attest.ParseRole(*role)
	if err != nil {
		return usageError{"--role must be one of owner, admin, member, auditor, viewer"}
	}
	db, err := sf.openExisting(e)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := account.OrgByName(e.ctx, db.Q(), *org)
	if err != nil {
		return err
	}
	var password string
	var m account.Member
	err = db.InTx(e.ctx, cliActor(o.ID), func(tx *store.Tx) error {
		m, password, err = account.AddMember(e.ctx, tx, o.ID, *email, r)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added %s to %q as %s.\n", m.Email, o.Name, r)
	if password != "" {
		fmt.Fprintf(e.stdout, "One-time password (change it at first login):\n%s\n", password)
	}
	return nil
}

func runTokenCreate(e *env, args []string) error {
	fs := newFlags(e, "token create")
	var sf storeFlags
	sf.register(fs, e)
	email := fs.String("email", "", "the user the token acts for")
	org := fs.String("org", "", "organisation name (needed when the user belongs to several)")
	name := fs.String("name", "cli", "a label for the token")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := errors.Join(noArgs(fs), require("email", *email)); err != nil {
		return err
	}
	db, err := sf.openExisting(e)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := account.UserByEmail(e.ctx, db.Q(), *email)
	if err != nil {
		return err
	}
	var orgID attest.OrgID
	if *org != "" {
		o, err := account.OrgByName(e.ctx, db.Q(), *org)
		if err != nil {
			return err
		}
		orgID = o.ID
	} else {
		n, err := membershipCount(e, db, u.ID)
		if err != nil {
			return err
		}
		if n > 1 {
			return usageError{fmt.Sprintf("%s belongs to %d organisations; choose one with --org", u.Email, n)}
		}
		if orgID, _, err = account.FirstOrg(e.ctx, db.Q(), u.ID); err != nil {
			return err
		}
	}
	var secret string
	err = db.InTx(e.ctx, cliActor(orgID), func(tx *store.Tx) error {
		secret, _, err = account.CreateToken(e.ctx, tx, orgID, u.ID, *name)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "API token for %s (shown once; store it now):\n%s\n", u.Email, secret)
	return nil
}

func membershipCount(e *env, db *store.DB, userID string) (int, error) {
	var n int
	err := db.Q().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM memberships WHERE user_id = $1", userID).Scan(&n)
	return n, err
}

func runAuditlogVerify(e *env, args []string) error {
	fs := newFlags(e, "auditlog verify")
	var sf storeFlags
	sf.register(fs, e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	db, err := sf.openExisting(e)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := auditlog.Verify(e.ctx, db.Q())
	var p *auditlog.Problem
	if errors.As(err, &p) {
		return exitError{code: 1, msg: fmt.Sprintf("FAILED: %v", p)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d entries in %d organisations\n", rep.Entries, rep.Orgs)
	return nil
}
