-- Organisations, people and access.
CREATE TABLE orgs (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    require_totp  BOOLEAN NOT NULL DEFAULT FALSE,
    scope         TEXT NOT NULL DEFAULT '["security"]', -- JSON list of in-scope category ids
    created_at    TIMESTAMPTZ NOT NULL
);

-- Users are global so one consultant can belong to several client orgs;
-- what they may do lives in memberships, per org.
CREATE TABLE users (
    id                    TEXT PRIMARY KEY,
    email                 TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL DEFAULT '',
    password_hash         TEXT NOT NULL,
    must_change_password  BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret           BYTEA,             -- sealed with the master key
    totp_enabled          BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    locked_until          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Only a hash of the session secret is stored: a copy of the database
-- cannot be replayed as a cookie.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    mfa_pending   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

-- The audit log: one hash chain per org. audit_heads holds the newest
-- entry of each chain; writers lock it, so two writers never chain off the
-- same hash, and deleting the newest entries is detected.
CREATE TABLE audit_heads (
    org_id  TEXT PRIMARY KEY,
    seq     BIGINT NOT NULL,
    hash    TEXT NOT NULL
);

CREATE TABLE audit_log (
    org_id       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL,
    via          TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL DEFAULT '',
    target_id    TEXT NOT NULL DEFAULT '',
    before_json  TEXT NOT NULL DEFAULT 'null',
    after_json   TEXT NOT NULL DEFAULT 'null',
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_log_target ON audit_log (org_id, target_type, target_id);

-- Controls and their mapping to criteria.
CREATE TABLE controls (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    code            TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    test_procedure  TEXT NOT NULL DEFAULT '',
    evidence_json   TEXT NOT NULL DEFAULT '[]',
    owner_role      TEXT NOT NULL DEFAULT '',
    frequency       TEXT NOT NULL,
    area            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    owner_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
    justification   TEXT NOT NULL DEFAULT '',
    custom          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE control_criteria (
    org_id        TEXT NOT NULL,
    control_id    TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    framework_id  TEXT NOT NULL,
    criterion_id  TEXT NOT NULL,
    PRIMARY KEY (control_id, framework_id, criterion_id)
);
CREATE INDEX control_criteria_org ON control_criteria (org_id, criterion_id);

-- Evidence is append-only: a newer item supersedes an older one, nothing
-- is updated in place.
CREATE TABLE evidence (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    control_id     TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,             -- file | note
    title          TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    filename       TEXT NOT NULL DEFAULT '',
    content_type   TEXT NOT NULL DEFAULT '',
    size           BIGINT NOT NULL DEFAULT 0,
    sha256         TEXT NOT NULL,
    blob_key       TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,             -- upload | note | later: check:<id>, integration:<name>
    added_by       TEXT NOT NULL,
    collected_at   TIMESTAMPTZ NOT NULL,
    effective_at   TIMESTAMPTZ NOT NULL,
    supersedes_id  TEXT REFERENCES evidence(id),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX evidence_control ON evidence (org_id, control_id, effective_at);
