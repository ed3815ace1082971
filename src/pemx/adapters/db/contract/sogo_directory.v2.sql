-- v2 (migration 0016): v1's mailboxes (resource mailboxes too, by their own name), and
-- the customer's distribution lists and mail contacts with show_in_address_book (a
-- contact's mail is its target address, where mail to it goes). Each entry carries its
-- customer as tenant: SOGo's searches never leave the searching user's customer. c_uid
-- is 'Mailbox<id>' (sogo_users'), 'List<id>' or 'Contact<id>'.
CREATE VIEW sogo_directory AS
SELECT 'Mailbox' || CAST(m.id AS TEXT) AS c_uid,
       'Mailbox' || CAST(m.id AS TEXT) AS c_name,
       COALESCE(u.display_name, m.display_name, m.primary_address) AS c_cn,
       m.primary_address AS mail,
       'c' || CAST(m.account_id AS TEXT) AS tenant
  FROM mailboxes m
  LEFT JOIN service_users u ON u.id = m.user_id
 WHERE m.show_in_address_book AND m.status <> 2
   AND (u.enabled OR (u.id IS NULL AND m.kind <> 'user'))
UNION ALL
SELECT 'List' || CAST(l.id AS TEXT), 'List' || CAST(l.id AS TEXT), l.display_name,
       l.primary_address, 'c' || CAST(l.account_id AS TEXT)
  FROM distribution_lists l
 WHERE l.show_in_address_book
UNION ALL
SELECT 'Contact' || CAST(c.id AS TEXT), 'Contact' || CAST(c.id AS TEXT), c.display_name,
       c.target_address, 'c' || CAST(c.account_id AS TEXT)
  FROM mail_contacts c
 WHERE c.show_in_address_book
