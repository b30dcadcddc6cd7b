-- One readiness reading per org per day, so dashboards can show the trend
-- an executive asks about ("are we getting closer?").
CREATE TABLE readiness_snapshots (
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    day              TEXT NOT NULL,              -- YYYY-MM-DD, UTC
    overall          DOUBLE PRECISION NOT NULL,
    categories_json  TEXT NOT NULL,              -- {"security": 0.42, ...} for in-scope categories
    recorded_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, day)
);
