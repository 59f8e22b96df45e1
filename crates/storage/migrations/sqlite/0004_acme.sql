-- ACME (RFC 8555) state: accounts, orders, authorizations, challenges, used nonces and EAB keys.
-- Ids are random URL-safe strings chosen by the caller; times are unix seconds; JSON is TEXT.
-- Challenges and order links go with their authorization/order (ON DELETE CASCADE), so pruning
-- deletes parents only. Keep in step with the other dialect.
CREATE TABLE acme_accounts (
    id             TEXT   PRIMARY KEY,
    provisioner    TEXT   NOT NULL,
    key_thumbprint TEXT   NOT NULL,
    jwk            TEXT   NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
    contact        TEXT   NOT NULL,
    eab_kid        TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (provisioner, key_thumbprint)
);

CREATE TABLE acme_orders (
    id                 TEXT   PRIMARY KEY,
    account_id         TEXT   NOT NULL REFERENCES acme_accounts (id),
    provisioner        TEXT   NOT NULL,
    status             TEXT   NOT NULL
        CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    identifiers        TEXT   NOT NULL,
    not_before         BIGINT,
    not_after          BIGINT,
    expires_at         BIGINT NOT NULL,
    certificate_serial TEXT,
    error              TEXT,
    replaces           TEXT,
    created_at         BIGINT NOT NULL
);

CREATE INDEX acme_orders_account ON acme_orders (account_id);
CREATE INDEX acme_orders_expires_at ON acme_orders (expires_at);

CREATE TABLE acme_authorizations (
    id               TEXT    PRIMARY KEY,
    account_id       TEXT    NOT NULL REFERENCES acme_accounts (id),
    provisioner      TEXT    NOT NULL,
    identifier_type  TEXT    NOT NULL,
    identifier_value TEXT    NOT NULL,
    wildcard         SMALLINT NOT NULL CHECK (wildcard IN (0, 1)),
    status           TEXT    NOT NULL
        CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
    expires_at       BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL
);

CREATE INDEX acme_authorizations_reuse
    ON acme_authorizations (account_id, identifier_type, identifier_value, status);
CREATE INDEX acme_authorizations_expires_at ON acme_authorizations (expires_at);

CREATE TABLE acme_order_authorizations (
    order_id TEXT NOT NULL REFERENCES acme_orders (id) ON DELETE CASCADE,
    authz_id TEXT NOT NULL REFERENCES acme_authorizations (id) ON DELETE CASCADE,
    PRIMARY KEY (order_id, authz_id)
);

CREATE INDEX acme_order_authorizations_authz ON acme_order_authorizations (authz_id);

CREATE TABLE acme_challenges (
    id           TEXT   PRIMARY KEY,
    authz_id     TEXT   NOT NULL REFERENCES acme_authorizations (id) ON DELETE CASCADE,
    type         TEXT   NOT NULL CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),
    token        TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
    validated_at BIGINT,
    error        TEXT
);

CREATE INDEX acme_challenges_authz ON acme_challenges (authz_id);

CREATE TABLE acme_used_nonces (
    nonce_id   TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE INDEX acme_used_nonces_expires_at ON acme_used_nonces (expires_at);

CREATE TABLE acme_eab_keys (
    provisioner   TEXT   NOT NULL,
    kid           TEXT   NOT NULL,
    hmac_key      BLOB   NOT NULL,
    bound_account TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (provisioner, kid)
);
