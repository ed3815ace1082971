"""The groupware: SOGo (webmail, ActiveSync, CalDAV, CardDAV) on pemx's contract views.

Two sogod instances (web: gated by ``owa``; sync: ActiveSync and DAV), a private
memcached each and an nginx front end; see docs/groupware.md."""

from __future__ import annotations

from pemx.adapters.groupware.cache import SogoCache
from pemx.adapters.groupware.config import GroupwareConfig, SogoDatabase
from pemx.adapters.groupware.stack import GroupwareError, PrivateGroupware

__all__ = ["GroupwareConfig", "GroupwareError", "PrivateGroupware", "SogoCache", "SogoDatabase"]
