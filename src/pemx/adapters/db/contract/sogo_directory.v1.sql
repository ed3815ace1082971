-- v1 (migration 0014): the global address list SOGo searches (web, CardDAV, ActiveSync),
-- scoped to the searching user's own customer by tenant. A separate view from sogo_users:
-- a mailbox hidden from the address book must still log in. c_uid is sogo_users'.
CREATE VIEW sogo_directory AS
SELECT 'Mailbox' || CAST(m.id AS TEXT) AS c_uid,
       'Mailbox' || CAST(m.id AS TEXT) AS c_name,
       u.display_name AS c_cn,
       m.primary_address AS mail,
       'c' || CAST(m.account_id AS TEXT) AS tenant
  FROM mailboxes m
  JOIN service_users u ON u.id = m.user_id
 WHERE m.show_in_address_book AND u.enabled AND m.status <> 2
