-- Policies: a policy is a titled document with an owner and a review date;
-- its text lives in numbered versions. At most one version is being
-- worked on (draft, in_review, approved) at a time; published versions are
-- never changed again, and published_version_id names the current one.
CREATE TABLE policies (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    title                 TEXT NOT NULL,
    template_id           TEXT NOT NULL DEFAULT '',
    owner_id              TEXT REFERENCES users(id) ON DELETE SET NULL,
    controls_json         TEXT NOT NULL DEFAULT '[]', -- control codes the policy supports
    criteria_json         TEXT NOT NULL DEFAULT '[]', -- criterion ids the policy supports
    review_months         INTEGER NOT NULL DEFAULT 12,
    review_due            TIMESTAMPTZ,
    published_version_id  TEXT,
    created_by            TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX policies_org ON policies (org_id, title);

CREATE TABLE policy_versions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    policy_id     TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    content_hash  TEXT NOT NULL,               -- SHA-256 of title and content
    status        TEXT NOT NULL,               -- draft | in_review | approved | published
    created_by    TEXT NOT NULL DEFAULT '',    -- user id of the author
    edited_by     TEXT NOT NULL DEFAULT '',    -- user id of the last person to change the text
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    submitted_by  TEXT NOT NULL DEFAULT '',
    submitted_at  TIMESTAMPTZ,
    approved_by   TEXT NOT NULL DEFAULT '',    -- user id
    approver      TEXT NOT NULL DEFAULT '',    -- approver's email, kept as it was at approval
    approved_at   TIMESTAMPTZ,
    self_approved BOOLEAN NOT NULL DEFAULT FALSE,
    published_by  TEXT NOT NULL DEFAULT '',
    published_at  TIMESTAMPTZ,
    UNIQUE (policy_id, number)
);
CREATE INDEX policy_versions_org ON policy_versions (org_id, policy_id);

-- Acceptances are append-only: they are evidence that a person read a
-- given published text (named by id and by its hash).
CREATE TABLE policy_acknowledgements (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    policy_id     TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    version_id    TEXT NOT NULL REFERENCES policy_versions(id) ON DELETE CASCADE,
    version_hash  TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    email         TEXT NOT NULL,
    accepted_at   TIMESTAMPTZ NOT NULL,
    via           TEXT NOT NULL DEFAULT '',
    UNIQUE (version_id, user_id)
);
CREATE INDEX policy_acks_org ON policy_acknowledgements (org_id, policy_id, user_id);
