"""What the tests and bench/ share: a running `pemx serve` (server), its PostgreSQL cluster
(postgres), mail clients (mailclient), model builders (builders), call checks (calls) and
the OA error pairs (errors). Import the modules, e.g. ``from tests.support.calls import ok``."""
