"""pem.exchange.*'s edge: wire fields into the use cases' types, their results into OA's
structs with OA's sentinels."""

from __future__ import annotations

from pemx.api.methods import REGISTRY
from pemx.api.methods.exchange_wire import added_mailbox, mailbox_info, mailbox_summaries
from pemx.api.schema import validate_struct
from pemx.domain.model import Mailbox, MailboxSettings, ObjectStatus
from pemx.service.mailbox_queries import MailboxInfo, MailboxSummary
from pemx.service.mailboxes import UNCHANGED, AddedMailbox, MailboxChanges, NewUser


def test_modify_gathers_the_given_fields_into_changes_with_zero_as_no_limit() -> None:
    method = REGISTRY["pem.exchange.modifyMailbox"]
    fields = validate_struct(
        {"mailbox_id": 4, "pop3": 0, "warning_limit": 0, "size_limit": 9}, method.params
    )
    assert method.arguments is not None
    arguments = method.arguments(fields)
    assert arguments == {
        "mailbox_id": 4,
        "changes": MailboxChanges(pop3=False, warning_limit=None, size_limit=9),
    }
    assert arguments["changes"].alias is UNCHANGED


def test_add_takes_new_user_as_a_value_object() -> None:
    params = REGISTRY["pem.exchange.addMailbox"].params
    new_user = {"subscription_id": 3, "login": "Ann"}
    checked = validate_struct({"new_user": new_user}, {"new_user": params["new_user"]})
    assert checked["new_user"] == NewUser(subscription_id=3, login="Ann")


def test_a_generated_password_is_in_the_answer_only_when_there_is_one() -> None:
    assert added_mailbox(AddedMailbox(1, 2, None)) == {"mailbox_id": 1, "user_id": 2}
    assert added_mailbox(AddedMailbox(1, 2, "pw"))["password"] == "pw"


def test_missing_values_are_written_as_oas_sentinels() -> None:
    settings = MailboxSettings("a", True, False, True, True, True, 100, False, warning_limit=50)
    mailbox = Mailbox(
        5,
        None,
        1,
        2,
        "a@example.com",
        settings,
        True,
        None,
        ObjectStatus.DELETING,
        ("a@example.com",),
        1,
    )
    answer = mailbox_info(MailboxInfo(mailbox=mailbox, user=None, size_kb=None))
    assert (answer["user_id"], answer["login"], answer["display_name"]) == (0, "", "")
    assert (answer["size"], answer["status"]) == (-1, 2)
    assert (answer["warning_limit"], answer["prohibit_send_limit"]) == (50, 0)
    assert type(answer["status"]) is int
    [line] = mailbox_summaries([MailboxSummary(5, "a@example.com", None, 3, "A", "a", "a")])
    assert line["size"] == -1 and line["email_address"] == "a@example.com"
