-- v1 (migration 0014): the groupware's (SOGo's) logins, docs/groupware.md. One row per
-- address of a mailbox, all with the mailbox's c_uid: 'Mailbox<id>', stable when an
-- address or the login changes (calendars and contacts stay), and never a login name
-- (logins and addresses are lower case; SOGo compares as typed). SOGo finds the mailbox
-- by its login name or any of its addresses (LoginFieldNames); mail is the primary
-- address, which SOGo logs in to IMAP with. Flags are text: SOGo
-- compares strings ("1"), and an integer column makes its login fail. tenant is the
-- customer that owns the mailbox (SOGo's DomainFieldName: its address book searches stay
-- inside it). c_kind is SOGo's KindFieldName: '' for a person; resource mailboxes set
-- 'location' (room) or 'thing' (equipment) here, with no other change to this view.
CREATE VIEW sogo_users AS
SELECT 'Mailbox' || CAST(m.id AS TEXT) AS c_uid,
       'Mailbox' || CAST(m.id AS TEXT) AS c_name,
       u.password_hash AS c_password,
       u.display_name AS c_cn,
       m.primary_address AS mail,
       u.login AS login,
       'c' || CAST(m.account_id AS TEXT) AS tenant,
       CASE WHEN m.owa THEN '1' ELSE '0' END AS enable_owa,
       CASE WHEN m.active_sync THEN '1' ELSE '0' END AS enable_activesync,
       CASE WHEN u.enabled AND a.enabled AND COALESCE(p.enabled, a.enabled) AND s.enabled
                 AND m.status <> 2
            THEN '1' ELSE '0' END AS active,
       CAST('' AS TEXT) AS c_kind,
       e.address AS address
  FROM mailboxes m
  JOIN email_addresses e ON e.mailbox_id = m.id
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  LEFT JOIN accounts p ON p.id = a.parent_id
  JOIN subscriptions s ON s.id = m.subscription_id
