-- v2 (migration 0010): a suspended reseller's customers may not send either.
CREATE VIEW mail_senders AS
SELECT e.address AS address, m.primary_address AS username
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  LEFT JOIN accounts p ON p.id = a.parent_id
  JOIN subscriptions s ON s.id = m.subscription_id
 WHERE m.status <> 2 AND u.enabled AND a.enabled AND COALESCE(p.enabled, a.enabled)
   AND s.enabled
