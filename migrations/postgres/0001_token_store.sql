-- Token store schema. Applied files are never edited: add a new numbered file instead.

-- One row per login session. Revoking a session is one write to this row, whatever the
-- number of tokens in it.
CREATE TABLE auth_families (
    family_id     uuid        PRIMARY KEY,
    subject       text        NOT NULL,
    long_term     boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text,
    -- Set by purge when the family's last token is deleted but the batch had no room left
    -- for the family itself; the next purge call deletes it.
    purgeable     boolean     NOT NULL DEFAULT false,
    CONSTRAINT auth_families_revocation_whole
        CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL)),
    CONSTRAINT auth_families_reason_known
        CHECK (revoke_reason IN ('reuse', 'revoked', 'logout'))
);

-- "Log out everywhere" and family lookups by subject.
CREATE INDEX auth_families_subject_idx ON auth_families (subject);
-- Purge finds leftover empty families without scanning the table.
CREATE INDEX auth_families_purgeable_idx ON auth_families (family_id) WHERE purgeable;

-- One row per refresh token. The subject lives on the family (a token's subject is its
-- family's); every lookup joins on family_id.
CREATE TABLE auth_refresh_tokens (
    token_id    uuid        PRIMARY KEY,
    family_id   uuid        NOT NULL REFERENCES auth_families (family_id),
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    -- No foreign keys on parent/child: purge deletes a token by its own expiry while its
    -- relatives are kept, and their records still name it.
    parent_id   uuid,
    child_id    uuid,
    CONSTRAINT auth_refresh_tokens_consumed_whole
        CHECK ((consumed_at IS NULL) = (child_id IS NULL))
) WITH (
    -- Room on each page for the new row version of a rotation's UPDATE, which then stays
    -- on the page with no index writes (a HOT update: it changes no indexed column).
    fillfactor = 85
);

-- A token is exchanged at most once, even if the code were wrong: at most one child names
-- a given parent. (child_id is only the parent's pointer to that row, so it needs no index
-- of its own, which keeps the rotation's UPDATE free of index writes.)
CREATE UNIQUE INDEX auth_refresh_tokens_one_child_per_parent
    ON auth_refresh_tokens (parent_id);
-- Purge emptiness checks and family-wide lookups.
CREATE INDEX auth_refresh_tokens_family_idx ON auth_refresh_tokens (family_id);
-- Purge walks tokens in expiry order.
CREATE INDEX auth_refresh_tokens_expires_idx ON auth_refresh_tokens (expires_at);
