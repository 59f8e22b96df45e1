-- ARI (RFC 9773): find the order that produced a certificate, and the orders replacing one.
CREATE INDEX acme_orders_certificate ON acme_orders (certificate_serial);
CREATE INDEX acme_orders_replaces ON acme_orders (replaces);
