-- One-time tokens already used, per provisioner (the replay check). Rows are pruned after the
-- token expires, since an expired token is refused anyway. Keep in step with the other dialect.
CREATE TABLE used_tokens (
    provisioner TEXT   NOT NULL,
    token_id    TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (provisioner, token_id)
);

CREATE INDEX used_tokens_expires_at ON used_tokens (expires_at);
