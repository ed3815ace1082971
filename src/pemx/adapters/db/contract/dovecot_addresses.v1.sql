-- Every address of a mailbox, with the mailbox (username) it delivers to (migration 0001).
CREATE VIEW dovecot_addresses AS
SELECT e.address AS address, m.primary_address AS username
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
