-- The domains a mail front end accepts mail for: Postfix's virtual_mailbox_domains
-- reads it (migration 0002). Domain names are stored normalized (lower case, no
-- trailing dot).
CREATE VIEW mail_domains AS
SELECT name AS domain
  FROM domains
