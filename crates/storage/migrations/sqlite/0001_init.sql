-- Vouch schema, version 1 (SQLite dialect).
-- Keep in step with ../postgres/0001_init.sql: same tables, columns, constraints and indexes.
-- Times are unix seconds (BIGINT); booleans are 0/1 integers so they read the same through sqlx::Any.

CREATE TABLE certificates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    serial      TEXT    NOT NULL UNIQUE,
    subject     TEXT    NOT NULL,
    sans        TEXT    NOT NULL,
    not_before  BIGINT  NOT NULL,
    not_after   BIGINT  NOT NULL,
    issuer      TEXT    NOT NULL,
    provisioner TEXT,
    status      TEXT    NOT NULL CHECK (status IN ('intended', 'issued', 'revoked')),
    der         BLOB,
    created_at  BIGINT  NOT NULL,
    CHECK (status <> 'issued' OR der IS NOT NULL)
);

CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_subject ON certificates (subject);
CREATE INDEX certificates_provisioner ON certificates (provisioner);
CREATE INDEX certificates_status_not_after ON certificates (status, not_after);

CREATE TABLE certificate_names (
    certificate_id BIGINT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    name           TEXT   NOT NULL,
    PRIMARY KEY (certificate_id, name)
);

CREATE INDEX certificate_names_name ON certificate_names (name);

CREATE TABLE revocations (
    serial      TEXT     PRIMARY KEY REFERENCES certificates (serial),
    revoked_at  BIGINT   NOT NULL,
    reason_code INTEGER  NOT NULL CHECK (reason_code BETWEEN 0 AND 10 AND reason_code <> 7),
    reason      TEXT,
    passive     SMALLINT NOT NULL CHECK (passive IN (0, 1))
);

CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
