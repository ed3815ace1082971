-- v6 (migration 0011) adds resource mailboxes (kind 'room' or 'equipment'): they have no
-- service user (user_id NULL), so no login and no password; they are deliverable (LMTP)
-- while live, and never active, so no IMAP, POP3 or submission login can reach them.
CREATE VIEW dovecot_mailboxes AS
SELECT m.id AS mailbox_id,
       m.primary_address AS username,
       u.login AS login,
       u.password_hash AS password,
       m.size_limit AS quota_kb,
       m.incoming_item_max_size AS max_mail_kb,
       m.message_retention AS retention_days,
       m.folder_language AS folder_language,
       CASE WHEN m.initialized THEN 1 ELSE 0 END AS initialized,
       CASE WHEN m.imap4 THEN 1 ELSE 0 END AS enable_imap,
       CASE WHEN m.pop3 THEN 1 ELSE 0 END AS enable_pop3,
       CASE WHEN m.owa THEN 1 ELSE 0 END AS enable_owa,
       CASE WHEN m.active_sync THEN 1 ELSE 0 END AS enable_activesync,
       CASE WHEN m.kind = 'user' AND u.enabled AND a.enabled
                 AND COALESCE(p.enabled, a.enabled) AND s.enabled AND m.status <> 2
            THEN 1 ELSE 0 END AS active,
       CASE WHEN (m.kind <> 'user' OR u.enabled) AND m.status <> 2
            THEN 1 ELSE 0 END AS deliverable,
       m.store_id AS store_id,
       st.host AS store_host,
       st.imap_port AS store_imap_port,
       st.pop3_port AS store_pop3_port,
       st.lmtp_port AS store_lmtp_port,
       st.imap_owa_port AS store_imap_owa_port,
       st.imap_activesync_port AS store_imap_activesync_port,
       m.prohibit_send_limit AS send_limit_kb,
       m.outgoing_item_max_size AS max_send_kb,
       m.recipient_list_max_size AS max_recipients
  FROM mailboxes m
  LEFT JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  LEFT JOIN accounts p ON p.id = a.parent_id
  JOIN subscriptions s ON s.id = m.subscription_id
  JOIN mailbox_stores st ON st.id = m.store_id
