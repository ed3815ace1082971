-- v1 (migration 0012): every address pemx hosts, with the kind of recipient holding it
-- (mailbox, distribution_list, mail_contact), the customer's account, and a list's
-- accept_mail_from (0 system only, 1 everyone, 2 members, 3 the organization; NULL for
-- the other kinds). The policy service reads it to decide who may send to a list.
CREATE VIEW mail_recipients AS
SELECT e.address AS address,
       CASE WHEN e.mailbox_id IS NOT NULL THEN 'mailbox'
            WHEN e.distribution_list_id IS NOT NULL THEN 'distribution_list'
            ELSE 'mail_contact' END AS kind,
       COALESCE(m.account_id, l.account_id, c.account_id) AS account_id,
       l.accept_mail_from AS accept_mail_from
  FROM email_addresses e
  LEFT JOIN mailboxes m ON m.id = e.mailbox_id
  LEFT JOIN distribution_lists l ON l.id = e.distribution_list_id
  LEFT JOIN mail_contacts c ON c.id = e.mail_contact_id
