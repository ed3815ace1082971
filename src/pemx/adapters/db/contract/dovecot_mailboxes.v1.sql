-- The mailboxes Dovecot's passdb and userdb read (migration 0001). Booleans become
-- integers 0/1 so the same queries run on SQLite and PostgreSQL. A mailbox is active
-- when its user, account and subscription are enabled and it is not being deleted
-- (status 2).
CREATE VIEW dovecot_mailboxes AS
SELECT m.id AS mailbox_id,
       m.primary_address AS username,
       u.login AS login,
       u.password_hash AS password,
       m.size_limit AS quota_kb,
       m.folder_language AS folder_language,
       CASE WHEN m.initialized THEN 1 ELSE 0 END AS initialized,
       CASE WHEN m.imap4 THEN 1 ELSE 0 END AS enable_imap,
       CASE WHEN m.pop3 THEN 1 ELSE 0 END AS enable_pop3,
       CASE WHEN m.owa THEN 1 ELSE 0 END AS enable_owa,
       CASE WHEN m.active_sync THEN 1 ELSE 0 END AS enable_activesync,
       CASE WHEN u.enabled AND a.enabled AND s.enabled AND m.status <> 2
            THEN 1 ELSE 0 END AS active
  FROM mailboxes m
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  JOIN subscriptions s ON s.id = m.subscription_id
