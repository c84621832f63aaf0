-- Token store schema. Applied files are never edited: add a new numbered file instead.
-- Ids are 16-byte UUID blobs, times are INTEGER unix microseconds (UTC), booleans 0/1.

-- One row per login session. Revoking a session is one write to this row, whatever the
-- number of tokens in it.
CREATE TABLE auth_families (
    family_id     BLOB    NOT NULL PRIMARY KEY CHECK (length(family_id) = 16),
    subject       TEXT    NOT NULL,
    long_term     INTEGER NOT NULL CHECK (long_term IN (0, 1)),
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT CHECK (revoke_reason IN ('reuse', 'revoked', 'logout')),
    -- Set by purge when the family's last token is deleted but the batch had no room left
    -- for the family itself; the next purge call deletes it.
    purgeable     INTEGER NOT NULL DEFAULT 0 CHECK (purgeable IN (0, 1)),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT, WITHOUT ROWID;

-- "Log out everywhere" and family lookups by subject.
CREATE INDEX auth_families_subject_idx ON auth_families (subject);
-- Purge finds leftover empty families without scanning the table.
CREATE INDEX auth_families_purgeable_idx ON auth_families (family_id) WHERE purgeable = 1;

-- One row per refresh token. The subject lives on the family (a token's subject is its
-- family's); every lookup joins on family_id.
CREATE TABLE auth_refresh_tokens (
    token_id    BLOB    NOT NULL PRIMARY KEY CHECK (length(token_id) = 16),
    family_id   BLOB    NOT NULL REFERENCES auth_families (family_id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    -- No foreign keys on parent/child: purge deletes a token by its own expiry while its
    -- relatives are kept, and their records still name it.
    parent_id   BLOB,
    child_id    BLOB,
    CHECK ((consumed_at IS NULL) = (child_id IS NULL))
) STRICT, WITHOUT ROWID;

-- A token is exchanged at most once, even if the code were wrong: at most one child names
-- a given parent. (child_id is only the parent's pointer to that row, so it needs no index
-- of its own, which keeps the rotation's UPDATE free of index writes.)
CREATE UNIQUE INDEX auth_refresh_tokens_one_child_per_parent
    ON auth_refresh_tokens (parent_id);
-- Purge emptiness checks and family-wide lookups.
CREATE INDEX auth_refresh_tokens_family_idx ON auth_refresh_tokens (family_id);
-- Purge walks tokens in expiry order.
CREATE INDEX auth_refresh_tokens_expires_idx ON auth_refresh_tokens (expires_at);
