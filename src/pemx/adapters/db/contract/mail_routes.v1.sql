-- v1 (migration 0012): where mail to an address goes besides a mailbox, as Postfix's
-- virtual aliases: a distribution list's addresses route to each member's address (a
-- mailbox's primary address, a nested list's primary address, a contact's target), a
-- mail contact's addresses to its target, a forwarding mailbox's addresses to its target
-- and, when it keeps a copy, to its own primary address. Several rows per address.
CREATE VIEW mail_routes AS
SELECT e.address AS address, m.primary_address AS destination
  FROM email_addresses e
  JOIN distribution_list_members dm ON dm.list_id = e.distribution_list_id
  JOIN mailboxes m ON m.id = dm.mailbox_id
 WHERE m.status <> 2
UNION ALL
SELECT e.address, l.primary_address
  FROM email_addresses e
  JOIN distribution_list_members dm ON dm.list_id = e.distribution_list_id
  JOIN distribution_lists l ON l.id = dm.member_list_id
UNION ALL
SELECT e.address, c.target_address
  FROM email_addresses e
  JOIN distribution_list_members dm ON dm.list_id = e.distribution_list_id
  JOIN mail_contacts c ON c.id = dm.mail_contact_id
UNION ALL
SELECT e.address, c.target_address
  FROM email_addresses e
  JOIN mail_contacts c ON c.id = e.mail_contact_id
UNION ALL
SELECT e.address, m.forward_to
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
 WHERE m.forward_to IS NOT NULL AND m.status <> 2
UNION ALL
SELECT e.address, m.primary_address
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
 WHERE m.forward_to IS NOT NULL AND m.deliver_to_mailbox AND m.status <> 2
