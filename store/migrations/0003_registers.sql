-- The program registers: people, vendors, risks and incidents.
-- Calendar dates (start, end, review, audit-period end) are stored as
-- 'YYYY-MM-DD' text: they are days, not instants, and text keeps them from
-- shifting with time zones on either backend. '' means "not set".

-- People are whoever the program covers, with or without a login; a person
-- is linked to a user by email when the read finds one in the org.
CREATE TABLE people (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    name             TEXT NOT NULL,
    department       TEXT NOT NULL DEFAULT '',
    manager_id       TEXT REFERENCES people(id) ON DELETE SET NULL,
    start_date       TEXT NOT NULL DEFAULT '',
    end_date         TEXT NOT NULL DEFAULT '',
    employment_type  TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, email)
);
CREATE INDEX people_org_name ON people (org_id, name);

-- Onboarding and offboarding checklist items, generated from templates.
CREATE TABLE person_checklist (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    phase         TEXT NOT NULL,            -- onboarding | offboarding
    code          TEXT NOT NULL,            -- template item, e.g. background_check
    title         TEXT NOT NULL,
    position      INTEGER NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    completed_by  TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    UNIQUE (person_id, phase, code)
);
CREATE INDEX person_checklist_org ON person_checklist (org_id, person_id);

CREATE TABLE person_training (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    course        TEXT NOT NULL,
    completed_on  TEXT NOT NULL,
    expires_on    TEXT NOT NULL DEFAULT '',
    added_by      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX person_training_org ON person_training (org_id, person_id);

-- Personal documents (signed NDA, background check result) are encrypted
-- blobs like evidence, kept apart from control evidence so that only those
-- who may read the roster can open them.
CREATE TABLE person_documents (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,            -- nda | background_check | other
    title         TEXT NOT NULL,
    filename      TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL DEFAULT '',
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    added_by      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX person_documents_org ON person_documents (org_id, person_id);

CREATE TABLE vendors (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    owner_id      TEXT REFERENCES users(id) ON DELETE SET NULL,
    tier          TEXT NOT NULL,            -- high | medium | low
    data_shared   TEXT NOT NULL DEFAULT '',
    services      TEXT NOT NULL DEFAULT '',
    website       TEXT NOT NULL DEFAULT '',
    subprocessor  BOOLEAN NOT NULL DEFAULT FALSE,
    status        TEXT NOT NULL,            -- active | offboarded
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, name)
);

-- Assurance reports (SOC 2, ISO 27001) of a vendor; the newest audit
-- period decides freshness. Rows are never updated.
CREATE TABLE vendor_reports (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    vendor_id     TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,            -- soc2_type2 | soc2_type1 | iso27001 | bridge_letter | other
    period_end    TEXT NOT NULL,
    filename      TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL DEFAULT '',
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    added_by      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX vendor_reports_org ON vendor_reports (org_id, vendor_id, period_end);

CREATE TABLE vendor_reviews (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    vendor_id    TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    reviewed_on  TEXT NOT NULL,
    outcome      TEXT NOT NULL,             -- approved | approved_with_conditions | rejected
    notes        TEXT NOT NULL DEFAULT '',
    reviewer     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX vendor_reviews_org ON vendor_reviews (org_id, vendor_id, reviewed_on);

CREATE TABLE risks (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    title                TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    category             TEXT NOT NULL DEFAULT '',
    likelihood           INTEGER NOT NULL,
    impact               INTEGER NOT NULL,
    residual_likelihood  INTEGER NOT NULL,
    residual_impact      INTEGER NOT NULL,
    treatment            TEXT NOT NULL,     -- mitigate | accept | transfer | avoid
    owner_id             TEXT REFERENCES users(id) ON DELETE SET NULL,
    review_date          TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL,     -- open | closed
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX risks_org ON risks (org_id);

CREATE TABLE risk_controls (
    org_id      TEXT NOT NULL,
    risk_id     TEXT NOT NULL REFERENCES risks(id) ON DELETE CASCADE,
    control_id  TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    PRIMARY KEY (risk_id, control_id)
);
CREATE INDEX risk_controls_org ON risk_controls (org_id);

-- A risk assessment is an immutable snapshot of the register with the
-- SHA-256 of its canonical JSON; it is never updated.
CREATE TABLE risk_assessments (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL DEFAULT '',
    snapshot_json  TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    risk_count     INTEGER NOT NULL,
    evidence_json  TEXT NOT NULL DEFAULT '[]',
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX risk_assessments_org ON risk_assessments (org_id, created_at);

CREATE TABLE incidents (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,         -- incident | tabletop
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL,         -- sev1 .. sev4
    status           TEXT NOT NULL,         -- open | contained | resolved | closed
    detected_at      TIMESTAMPTZ NOT NULL,
    resolved_at      TIMESTAMPTZ,
    root_cause       TEXT NOT NULL DEFAULT '',
    lessons_learned  TEXT NOT NULL DEFAULT '',
    evidence_id      TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_org ON incidents (org_id, detected_at);

CREATE TABLE incident_controls (
    org_id       TEXT NOT NULL,
    incident_id  TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    control_id   TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, control_id)
);
CREATE INDEX incident_controls_org ON incident_controls (org_id);

-- The timeline is append-only: entries are inserted, never changed.
CREATE TABLE incident_events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    incident_id  TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    what         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (incident_id, seq)
);
CREATE INDEX incident_events_org ON incident_events (org_id, incident_id);
