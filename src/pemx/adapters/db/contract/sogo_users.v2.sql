-- v2 (migration 0016): v1, and resource mailboxes (rooms, equipment) as SOGo resources
-- (docs/groupware.md#rooms-and-equipment). A resource has no user (user_id NULL: the
-- view left-joins service_users), no password (c_password '', which no login matches;
-- the instances' authenticationFilter also admits c_kind = '' only), no webmail and no
-- ActiveSync. c_kind is SOGo's KindFieldName: '' a person, 'location' a room, 'thing'
-- equipment. multiple_bookings is SOGo's MultipleBookingsFieldName: a resource takes one
-- booking at a time (an overlapping invitation is declined); 0 for a person (unused).
-- A user's mailbox whose user is gone (user_id NULL, being deleted) has no row.
CREATE VIEW sogo_users AS
SELECT 'Mailbox' || CAST(m.id AS TEXT) AS c_uid,
       'Mailbox' || CAST(m.id AS TEXT) AS c_name,
       COALESCE(u.password_hash, '') AS c_password,
       COALESCE(u.display_name, m.display_name, m.primary_address) AS c_cn,
       m.primary_address AS mail,
       COALESCE(u.login, m.primary_address) AS login,
       'c' || CAST(m.account_id AS TEXT) AS tenant,
       CASE WHEN m.owa AND u.id IS NOT NULL THEN '1' ELSE '0' END AS enable_owa,
       CASE WHEN m.active_sync AND u.id IS NOT NULL THEN '1' ELSE '0' END AS enable_activesync,
       CASE WHEN COALESCE(u.enabled, m.kind <> 'user') AND a.enabled
                 AND COALESCE(p.enabled, a.enabled) AND s.enabled AND m.status <> 2
            THEN '1' ELSE '0' END AS active,
       CASE m.kind WHEN 'room' THEN 'location' WHEN 'equipment' THEN 'thing'
            ELSE '' END AS c_kind,
       CASE WHEN m.kind = 'user' THEN 0 ELSE 1 END AS multiple_bookings,
       e.address AS address
  FROM mailboxes m
  JOIN email_addresses e ON e.mailbox_id = m.id
  LEFT JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  LEFT JOIN accounts p ON p.id = a.parent_id
  JOIN subscriptions s ON s.id = m.subscription_id
 WHERE u.id IS NOT NULL OR m.kind <> 'user'
