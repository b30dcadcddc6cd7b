-- Background jobs: one table for all work that runs outside a request.
-- Runners claim due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, the single
-- writer on SQLite) and hold a lease in locked_by/locked_until, so a
-- restart or a second instance neither loses nor doubles a job.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL DEFAULT '',      -- '' for work that spans every org (the sweep)
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',    -- JSON
    unique_key    TEXT,                          -- a second job with the same key is not queued
    status        TEXT NOT NULL,                 -- queued | running | done | failed
    run_at        TIMESTAMPTZ NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    last_error    TEXT NOT NULL DEFAULT '',
    locked_by     TEXT NOT NULL DEFAULT '',
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Every attempt at a job, including those a crashed runner abandoned
-- (finished_at stays empty).
CREATE TABLE job_attempts (
    job_id       TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL DEFAULT '',
    attempt      INTEGER NOT NULL,
    runner       TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    error        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, attempt)
);

-- Recurring duties. Each occurrence of a rule becomes a task; seed_key
-- names a built-in default so seeding twice adds nothing.
CREATE TABLE task_rules (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    seed_key     TEXT,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    cadence      TEXT NOT NULL,
    start_on     TIMESTAMPTZ NOT NULL,
    from_on      TIMESTAMPTZ NOT NULL,           -- occurrences due before this are not generated
    owner_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, seed_key)
);

CREATE TABLE task_rule_controls (
    org_id      TEXT NOT NULL,
    rule_id     TEXT NOT NULL REFERENCES task_rules(id) ON DELETE CASCADE,
    control_id  TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, control_id)
);

-- occurrence_key is rule id + due date: two schedulers generating the same
-- occurrence collide on it instead of creating a duplicate.
CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rule_id         TEXT REFERENCES task_rules(id) ON DELETE SET NULL,
    occurrence_key  TEXT,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    owner_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
    due_on          TIMESTAMPTZ NOT NULL,        -- midnight UTC of the due date
    status          TEXT NOT NULL,               -- open | done | skipped
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_at     TIMESTAMPTZ,
    note            TEXT NOT NULL DEFAULT '',    -- completion note or skip reason
    evidence_json   TEXT NOT NULL DEFAULT '[]',  -- evidence ids recorded at completion
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, occurrence_key)
);
CREATE INDEX tasks_due ON tasks (org_id, status, due_on);
CREATE INDEX tasks_owner ON tasks (org_id, owner_id, due_on);

CREATE TABLE task_controls (
    org_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    control_id  TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, control_id)
);
CREATE INDEX task_controls_control ON task_controls (org_id, control_id);

-- Where reminders go besides email: webhooks (generic JSON or
-- Slack-compatible). The URL is a secret (a Slack URL is a credential), so
-- it is sealed; target_hint is what pages show.
CREATE TABLE notify_channels (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,                -- webhook | slack
    name           TEXT NOT NULL,
    target_sealed  BYTEA NOT NULL,
    target_hint    TEXT NOT NULL,
    events         TEXT NOT NULL,                -- JSON list: reminder, overdue, digest, test
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- One row per message to one target, kept after it is sent or fails for
-- good. dedup_key makes queueing the same reminder twice a no-op.
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,                   -- email | webhook | slack
    channel_id  TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL,                   -- an address, or the channel's hint
    event       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    task_id     TEXT NOT NULL DEFAULT '',
    dedup_key   TEXT NOT NULL,
    status      TEXT NOT NULL,                   -- queued | retrying | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    UNIQUE (org_id, dedup_key)
);
CREATE INDEX deliveries_org ON deliveries (org_id, created_at);
