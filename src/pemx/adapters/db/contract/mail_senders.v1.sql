-- The addresses each mailbox may send as (migration 0008): every address of a live
-- mailbox whose user, account and subscription are enabled, with the mailbox's
-- canonical user (the SASL user name Postfix gets from Dovecot). Postfix's
-- smtpd_sender_login_maps and the From: milter read it. Over the tables, not the other
-- views, so each contract view can be replaced on its own.
CREATE VIEW mail_senders AS
SELECT e.address AS address, m.primary_address AS username
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  JOIN subscriptions s ON s.id = m.subscription_id
 WHERE m.status <> 2 AND u.enabled AND a.enabled AND s.enabled
