-- Detection inside the server: per-org settings, the learned baseline,
-- persisted alerts with their triage, and suppression rules.

-- One row per org that changed the defaults. Baseline thresholds are a JSON
-- document of detect/baseline.Config fields; zero fields take the defaults.
CREATE TABLE detect_settings (
    org_id                TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    baseline_json         TEXT NOT NULL DEFAULT '{}',
    group_window_seconds  BIGINT NOT NULL DEFAULT 3600,
    notify_min_severity   TEXT NOT NULL DEFAULT 'high',
    notify_emails         TEXT NOT NULL DEFAULT '[]',   -- JSON list of addresses
    notify_channels       TEXT NOT NULL DEFAULT '[]',   -- JSON list of notify_channels ids
    updated_at            TIMESTAMPTZ NOT NULL
);

-- What each org's baseline has learned (gzip JSON of baseline.State), and
-- the lease that serialises ingestion per org across instances: an ingest
-- takes the lease (lease_token, lease_until), renews it while it runs and
-- saves the state only while it still holds it.
CREATE TABLE detect_baselines (
    org_id        TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    state         BYTEA,
    entities      INTEGER NOT NULL DEFAULT 0,
    events        BIGINT NOT NULL DEFAULT 0,      -- events learned from, all ingests together
    saved_at      TIMESTAMPTZ,
    lease_token   TEXT NOT NULL DEFAULT '',
    lease_until   TIMESTAMPTZ
);

-- An alert is one group of events of one rule (or baseline) and actor.
-- day is the UTC date the alert was raised, for counts per day on both
-- databases. acknowledged_at is the first response (acknowledging, or
-- resolving straight away); resolved_at is when it was closed (resolved or
-- marked a false positive).
CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rule             TEXT NOT NULL,
    kind             TEXT NOT NULL,                -- rule | correlation | baseline
    title            TEXT NOT NULL,
    severity         TEXT NOT NULL,
    severity_rank    INTEGER NOT NULL,             -- informational 0 .. critical 4
    criteria         TEXT NOT NULL DEFAULT '[]',   -- JSON list of criterion ids
    actor            TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL DEFAULT '',
    target           TEXT NOT NULL DEFAULT '',
    source_ip        TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL,
    first_time       TIMESTAMPTZ NOT NULL,         -- event time of the first event
    last_time        TIMESTAMPTZ NOT NULL,
    events           BIGINT NOT NULL,
    samples          TEXT NOT NULL DEFAULT '[]',   -- JSON list of raw records, bounded
    status           TEXT NOT NULL,                -- open | acknowledged | resolved | false_positive
    status_reason    TEXT NOT NULL DEFAULT '',
    day              TEXT NOT NULL,                -- YYYY-MM-DD of created_at
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  TEXT NOT NULL DEFAULT '',
    resolved_at      TIMESTAMPTZ,
    resolved_by      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_list ON alerts (org_id, created_at, id);
CREATE INDEX alerts_group ON alerts (org_id, rule, actor, status, last_time);
CREATE INDEX alerts_day ON alerts (org_id, day);

-- Every engine group folded into an alert, so that sending the same log
-- again neither opens nor grows an alert twice.
CREATE TABLE alert_groups (
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    group_key  TEXT NOT NULL,
    alert_id   TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, group_key)
);

-- Matches of a suppression are counted (matched, last_matched_at) but
-- raise nothing. Empty rule/actor/network match anything; at least one is set.
CREATE TABLE alert_suppressions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rule             TEXT NOT NULL DEFAULT '',
    actor            TEXT NOT NULL DEFAULT '',
    network          TEXT NOT NULL DEFAULT '',
    until_at         TIMESTAMPTZ,
    reason           TEXT NOT NULL,
    alert_id         TEXT NOT NULL DEFAULT '',     -- the alert it was created from, if any
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    matched          BIGINT NOT NULL DEFAULT 0,
    last_matched_at  TIMESTAMPTZ
);
CREATE INDEX alert_suppressions_org ON alert_suppressions (org_id, created_at);

-- Monthly monitoring summaries filed as evidence, one per org and month.
CREATE TABLE detect_evidence (
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    month        TEXT NOT NULL,                    -- YYYY-MM
    evidence_ids TEXT NOT NULL,                    -- JSON list
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, month)
);
