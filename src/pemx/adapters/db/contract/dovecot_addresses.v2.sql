-- v2 (migration 0003): only live mailboxes give addresses to Dovecot (a removed one
-- keeps none anyway).
CREATE VIEW dovecot_addresses AS
SELECT e.address AS address, m.primary_address AS username
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
 WHERE m.status <> 2
