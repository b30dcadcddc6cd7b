-- Personal data inventories: each report uploaded by `attest scan pii
-- --upload`, kept whole (types, counts and locations only; the scanner
-- never sends values) and filed as evidence on a control.
CREATE TABLE privacy_inventories (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    control_id    TEXT NOT NULL REFERENCES controls(id) ON DELETE CASCADE,
    evidence_id   TEXT NOT NULL REFERENCES evidence(id) ON DELETE CASCADE,
    scanned_at    TIMESTAMPTZ NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    recorded_by   TEXT NOT NULL,              -- email of who uploaded it
    findings      BIGINT NOT NULL,
    locations     INTEGER NOT NULL,
    report_json   TEXT NOT NULL
);

CREATE INDEX privacy_inventories_org_recorded ON privacy_inventories (org_id, recorded_at DESC, id DESC);
