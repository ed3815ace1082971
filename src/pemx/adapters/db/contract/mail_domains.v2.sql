-- v2 (migration 0013): only the domains bound to a subscription. A domain registered on
-- an account without hosting (pem.addDomainToAccount) has no mailboxes: the front end
-- refuses its mail at the domain instead of at the recipient.
CREATE VIEW mail_domains AS
SELECT name AS domain
  FROM domains
 WHERE subscription_id IS NOT NULL
