"""pem.*AccountMember, pem.setMemberPassword: revoking and renewing staff credentials.

OA's names (osaapi calls them); OA publishes no fields for them, so pemx takes the
``member_id`` that pem.addAccountMember answers, and answers nothing.
"""

from __future__ import annotations

from pemx.api.method import Method
from pemx.api.methods.fields import object_id
from pemx.api.schema import req
from pemx.service import staff

_MEMBER_ID = object_id("the staff member (pem.addAccountMember's member_id)")

METHODS: tuple[Method, ...] = (
    Method(
        "pem.disableAccountMember",
        {"member_id": _MEMBER_ID},
        staff.disable_account_member,
        doc="Refuse a staff member's credentials from the next call on, on every node.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.enableAccountMember",
        {"member_id": _MEMBER_ID},
        staff.enable_account_member,
        doc="Accept a disabled staff member's credentials again.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.removeAccountMember",
        {"member_id": _MEMBER_ID},
        staff.remove_account_member,
        doc="Remove a staff member for good; its login stays reserved.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.setMemberPassword",
        {
            "member_id": _MEMBER_ID,
            "password": req("string", "the new password", max_length=1024, secret=True),
        },
        staff.set_member_password,
        doc="Give a staff member a new password; the old one is refused from the next call on.",
        reseller=True,
        changes_state=True,
    ),
)
