-- The CRL number of each issuer: it only ever increases and is shared by every node.
-- Keep in step with the other dialect.
CREATE TABLE crl_numbers (
    issuer TEXT   PRIMARY KEY,
    number BIGINT NOT NULL
);
