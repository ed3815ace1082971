"""What the tests and bench/ share: a running `pemx serve` (server), its PostgreSQL cluster
(postgres), mail clients (mailclient), model builders (builders), call checks (calls) and
the OA error pairs (errors); for the in-process tiers, the application on a migrated
SQLite copy (application), a WSGI client of its API (inprocess), a MailBackend fake
(fake_mail) and a clock to move (clock). Import the modules, e.g.
``from tests.support.calls import ok``."""
