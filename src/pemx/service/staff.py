"""Use cases that revoke or renew a staff member's API credentials: disable, enable,
remove, set a new password (pem.disableAccountMember and friends).

A member is managed by the staff of its own account and of the accounts above it (a
reseller: its own and its customers' staff); any other member answers exactly like a
missing one. Members may revoke themselves, but the provider always keeps one enabled
member: otherwise nobody could call the API any more. The API checks the stored
credentials on every call (api/auth.py), so each change here holds from the next call on,
on every node.
"""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, not_found
from pemx.domain.model import PROVIDER_ACCOUNT_ID, Caller, Member
from pemx.domain.rules import check_password
from pemx.service.ports import Context, Tx


def disable_account_member(ctx: Context, *, member_id: int) -> None:
    """Refuse the member's credentials from the next call on (until enabled again)."""
    with ctx.uow.write() as tx:
        member = _visible_member(tx, ctx.caller, member_id)
        if member.enabled:
            _ensure_provider_keeps_a_member(tx, member)
            tx.members.set_enabled(member.id, False)
        tx.audit.note("member", member.id, member.account_id)


def enable_account_member(ctx: Context, *, member_id: int) -> None:
    """Accept the member's credentials again."""
    with ctx.uow.write() as tx:
        member = _visible_member(tx, ctx.caller, member_id)
        tx.members.set_enabled(member.id, True)
        tx.audit.note("member", member.id, member.account_id)


def remove_account_member(ctx: Context, *, member_id: int) -> None:
    """Revoke the member for good: no call finds it afterwards. Its login stays reserved,
    so the audit's actors stay unambiguous."""
    with ctx.uow.write() as tx:
        member = _visible_member(tx, ctx.caller, member_id)
        if member.enabled:
            _ensure_provider_keeps_a_member(tx, member)
        tx.members.remove(member.id)
        tx.audit.note("member", member.id, member.account_id)


def set_member_password(ctx: Context, *, member_id: int, password: str) -> None:
    """Replace the member's password; the old one is refused from the next call on."""
    check_password(password, "password")
    password_hash = ctx.hasher.hash(password)  # before the transaction: bcrypt is slow
    with ctx.uow.write() as tx:
        member = _visible_member(tx, ctx.caller, member_id)
        tx.members.set_password_hash(member.id, password_hash)
        tx.audit.note("member", member.id, member.account_id)


def _visible_member(tx: Tx, caller: Caller, member_id: int) -> Member:
    """The member if the caller sees its account; a removed or foreign one is missing."""
    member = tx.members.get(member_id)
    if member is not None and not member.removed:
        account = tx.accounts.get(member.account_id)
        if account is not None and caller.can_see(account):
            return member
    raise not_found("Member", member_id)


def _ensure_provider_keeps_a_member(tx: Tx, member: Member) -> None:
    if member.account_id != PROVIDER_ACCOUNT_ID:
        return
    # Locked: two members disabling each other at once cannot both pass this check.
    if tx.members.enabled_in(PROVIDER_ACCOUNT_ID) == [member.id]:
        raise PemxError(
            ErrorCode.LAST_PROVIDER_MEMBER,
            "The provider's last enabled staff member cannot be disabled or removed.",
            {"field": "member_id"},
        )
