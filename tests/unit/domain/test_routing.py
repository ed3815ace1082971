"""Expanding lists, contacts and forwarding; the envelope of a copy sent on; a list's
accept_mail_from; cycles among lists (domain.routing, domain.recipients)."""

from __future__ import annotations

from collections.abc import Sequence

from pemx.domain.recipients import AcceptMailFrom, RecipientKind, would_cycle
from pemx.domain.routing import (
    MAX_LEAVES,
    HostedRecipient,
    SenderIdentity,
    copy_sender,
    expand,
    list_members,
    list_refusal,
)


def routes_of(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def routes(address: str) -> Sequence[str]:
        return table.get(address, [])

    return routes


ROUTES = {
    "team@c.example": ["ann@c.example", "sub@c.example", "out@x.example"],
    "sub@c.example": ["ann@c.example", "bob@c.example", "team@c.example"],  # a cycle back
    "bob@c.example": ["bob@c.example", "bob@far.example"],  # keeps a copy, forwards
    "fwd@c.example": ["gone@far.example"],  # forwards, no copy
}


def test_every_leaf_once_through_nested_lists_and_cycles() -> None:
    result = expand(["team@c.example"], routes_of(ROUTES))
    assert list(result.leaves) == [
        "ann@c.example",
        "bob@c.example",
        "bob@far.example",
        "out@x.example",
    ]
    assert result.via("out@x.example") == "team@c.example"
    assert result.via("bob@far.example") == "bob@c.example"
    assert result.via("bob@c.example") == "sub@c.example"
    assert not result.truncated


def test_a_plain_recipient_is_its_own_leaf_with_its_detail() -> None:
    result = expand(["ann+news@c.example", "fwd@c.example"], routes_of(ROUTES))
    assert result.leaves == {
        "ann+news@c.example": "ann+news@c.example",
        "gone@far.example": "fwd@c.example",
    }


def test_an_address_already_passed_is_not_expanded_again() -> None:
    result = expand(["bob@c.example"], routes_of(ROUTES), passed={"bob@c.example"})
    assert result.leaves == {"bob@c.example": "bob@c.example"}


def test_expansion_is_bounded() -> None:
    big = {"all@c.example": [f"u{i}@c.example" for i in range(MAX_LEAVES + 5)]}
    result = expand(["all@c.example"], routes_of(big))
    assert len(result.leaves) == MAX_LEAVES and result.truncated


def test_a_copy_sent_on_leaves_with_the_recipient_that_sent_it() -> None:
    assert copy_sender("a@outside.example", "t@far.example", "fwd@c.example") == "fwd@c.example"
    assert copy_sender("a@outside.example", "t@far.example", "t@far.example") == "a@outside.example"
    assert copy_sender("", "t@far.example", "fwd@c.example") == ""  # bounces stay bounces


def test_list_members_expand_nested_lists_only() -> None:
    lists = {"team@c.example", "sub@c.example"}
    found = list_members("team@c.example", routes_of(ROUTES), lambda a: a in lists)
    # bob's own forwarding is not membership
    assert found == {"ann@c.example", "bob@c.example", "out@x.example"}


def _list(policy: AcceptMailFrom) -> HostedRecipient:
    return HostedRecipient("team@c.example", RecipientKind.LIST, 7, policy)


def test_accept_mail_from() -> None:
    members = frozenset({"ann@c.example", "out@x.example"})
    outside = SenderIdentity("stranger@y.example")
    contact = SenderIdentity("out@x.example")
    forged = SenderIdentity("ann@c.example", sender_domain_hosted=True)
    ann = SenderIdentity("ann@c.example", login_username="ann@c.example", login_account_id=7)
    other = SenderIdentity("z@d.example", login_username="z@d.example", login_account_id=8)
    bounce = SenderIdentity("")

    def accepts(policy: AcceptMailFrom, sender: SenderIdentity) -> bool:
        return list_refusal(_list(policy), sender, lambda: members) is None

    everyone = [outside, contact, forged, ann, other, bounce]
    assert all(accepts(AcceptMailFrom.EVERYONE, s) for s in everyone)
    assert [accepts(AcceptMailFrom.MEMBERS, s) for s in everyone] == [
        False, True, False, True, False, False
    ]  # fmt: skip
    assert [accepts(AcceptMailFrom.ORGANIZATION, s) for s in everyone] == [
        False, False, False, True, False, False
    ]  # fmt: skip
    assert [accepts(AcceptMailFrom.SYSTEM, s) for s in everyone] == [
        False, False, False, False, False, True
    ]  # fmt: skip
    refusal = list_refusal(_list(AcceptMailFrom.MEMBERS), outside, lambda: members)
    assert refusal is not None and refusal.code == 550 and "members" in refusal.text


def test_a_list_may_not_contain_itself() -> None:
    nested = {1: [2], 2: [3], 3: [], 4: []}
    assert would_cycle(3, [1], lambda i: nested[i])  # 3 in 1 in ... : 1 -> 2 -> 3
    assert would_cycle(1, [1], lambda i: nested[i])
    assert not would_cycle(1, [4], lambda i: nested[i])
    assert not would_cycle(4, [1], lambda i: nested[i])


def test_a_nested_list_that_refuses_is_neither_expanded_nor_a_leaf() -> None:
    refusing = {"sub@c.example"}
    result = expand(["team@c.example"], routes_of(ROUTES), refuses=refusing.__contains__)
    assert result.refused == {"sub@c.example": "team@c.example"}
    assert set(result.leaves) == {"ann@c.example", "out@x.example"}  # bob only through sub
    # the addressed list itself was judged at RCPT: never refused here
    addressed = expand(["sub@c.example"], routes_of(ROUTES), refuses=refusing.__contains__)
    assert addressed.refused == {} and "bob@c.example" in addressed.leaves
