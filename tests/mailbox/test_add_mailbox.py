"""pem.exchange.addMailbox over HTTP, each effect proved from the mail side.

The seed's promise: when the call returns mailbox_id the mailbox is live; a call that
fails has changed nothing.
"""

from __future__ import annotations

import imaplib
import poplib
from typing import Any

import pytest

from tests.support.builders import Tenant, mailbox_params, make_reseller, make_tenant, unique
from tests.support.calls import err, ok
from tests.support.errors import (
    ADDRESS_IN_USE,
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    NO_EXCHANGE_SERVICE,
    OBJECT_NOT_FOUND,
    PASSWORD_REJECTED,
    RESOURCE_LIMIT_EXCEEDED,
    USER_HAS_MAILBOX,
    WireError,
)
from tests.support.mailclient import (
    imap_append,
    imap_login,
    inbox_subjects,
    list_folders,
    lmtp_deliver,
    make_message,
    pop3_login,
)
from tests.support.server import Server

SPECIAL_USE = {"\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"}


@pytest.fixture(scope="module")
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider)


def usage(api: Any, subscription_id: int) -> dict[int, int]:
    info = ok(api.pem.getSubscription({"subscription_id": subscription_id}))
    return {r["resource_type_id"]: r["usage"] for r in info["resource_types"]}


def add(api: Any, **params: Any) -> dict[str, Any]:
    response: dict[str, Any] = api.pem.exchange.addMailbox(params)
    return response


def special_folders(folders: dict[str, frozenset[str]]) -> dict[str, str]:
    """{special-use flag: folder name} for the folders that carry one."""
    return {flag: name for name, flags in folders.items() for flag in flags if flag in SPECIAL_USE}


# --------------------------------------------------------------------------- live at the ack


def test_new_user_mailbox_is_live_at_the_ack(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("john")
    primary = f"{login}@{tenant.domain}"
    alternatives = [f"j.{login}@{tenant.domain}", f"sales-{login}@{tenant.domain}"]
    result = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            alt_email_addresses=alternatives,
            **mailbox_params(primary.upper()),
        )
    )
    assert result["mailbox_id"] > 0 and result["user_id"] > 0
    password = result["password"]  # generated, returned once
    assert len(password) >= 16

    imap_host, imap_port = server.mail("imap")
    for user in (login, login.upper(), primary, primary.upper()):
        imap_login(imap_host, imap_port, user, password).logout()
    pop = pop3_login(*server.mail("pop3"), primary, password)
    pop.quit()

    lmtp = server.mail("lmtp")
    for index, address in enumerate([primary, *alternatives, alternatives[0].upper()]):
        assert lmtp_deliver(*lmtp, address, f"msg {index}") == (250, 250)
    imap = imap_login(imap_host, imap_port, login, password)
    assert sorted(inbox_subjects(imap)) == [f"msg {i}" for i in range(4)]
    imap.logout()

    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": result["mailbox_id"]}))
    assert info["primary_email_address"] == primary  # stored in lower case
    assert sorted(info["email_addresses"]) == sorted([primary, *alternatives])
    assert info["display_name"] == login  # defaults to the login
    user = ok(provider.pem.getUserInfo({"user_id": result["user_id"]}))
    assert user["subscription_id"] == tenant.subscription_id  # bound: subscription-local
    assert "password" not in user


def test_given_password_and_display_name(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("mary")
    result = ok(
        add(
            provider,
            new_user={
                "subscription_id": tenant.subscription_id,
                "login": login,
                "password": "Pässwörd-Mary-1",
                "display_name": "Mary Major",
            },
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    assert "password" not in result
    imap_login(*server.mail("imap"), login, "Pässwörd-Mary-1").logout()
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": result["mailbox_id"]}))
    assert info["display_name"] == "Mary Major"


def test_password_is_stored_only_as_a_dovecot_hash(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    login, password = unique("hash"), "Never-Stored-In-Clear-9"
    ok(
        add(
            provider,
            new_user={
                "subscription_id": tenant.subscription_id,
                "login": login,
                "password": password,
            },
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    ((stored,),) = server.rows(
        "SELECT password_hash FROM service_users WHERE login = :login", login=login
    )
    assert stored.startswith("{BLF-CRYPT}$2b$")
    assert password not in stored
    log = (server.data_dir.parent / "data.log").read_text(errors="replace")
    assert password not in log


# ----------------------------------------------------------------------------- initialization


def test_folders_are_localized_with_special_use(server: Server, provider: Any) -> None:
    # The user's locale wins over the account's; the account's over en_US.
    german = make_tenant(provider, locale="de_DE")
    login = unique("anna")
    user_id = ok(
        provider.pem.addUser(
            {
                "subscription_id": german.subscription_id,
                "login": login,
                "password": "Anna-Password-1",
                "properties": [{"name": "locale", "value": "fr_FR"}],
            }
        )
    )["user_id"]
    ok(add(provider, user_id=user_id, **mailbox_params(f"{login}@{german.domain}")))
    imap = imap_login(*server.mail("imap"), login, "Anna-Password-1")
    assert special_folders(list_folders(imap)) == {
        "\\Drafts": "Brouillons",
        "\\Sent": "Éléments envoyés",
        "\\Trash": "Éléments supprimés",
        "\\Junk": "Courrier indésirable",
        "\\Archive": "Archives",
    }
    imap.logout()

    other = unique("karl")
    result = ok(
        add(
            provider,
            new_user={"subscription_id": german.subscription_id, "login": other},
            **mailbox_params(f"{other}@{german.domain}"),
        )
    )
    imap = imap_login(*server.mail("imap"), other, result["password"])
    folders = special_folders(list_folders(imap))
    assert folders["\\Drafts"] == "Entwürfe" and folders["\\Sent"] == "Gesendete Elemente"
    # An initialized folder takes mail at once.
    typ, _ = imap_append(imap, "Entwürfe", make_message("draft"))
    assert typ == "OK"
    imap.logout()


def test_default_locale_is_en_us(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("eve")
    result = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    imap = imap_login(*server.mail("imap"), login, result["password"])
    assert special_folders(list_folders(imap)) == {
        "\\Drafts": "Drafts",
        "\\Sent": "Sent Items",
        "\\Trash": "Deleted Items",
        "\\Junk": "Junk Email",
        "\\Archive": "Archive",
    }
    imap.logout()


def test_skip_initialization_leaves_inbox_only(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    login = unique("bare")
    result = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            skip_initialization=True,
            mark_migrated=True,
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    imap = imap_login(*server.mail("imap"), login, result["password"])
    assert list(list_folders(imap)) == ["INBOX"]
    imap.logout()
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": result["mailbox_id"]}))
    assert info["initialized"] is False and info["migrated"] is True


# ---------------------------------------------------------------------------- protocol switches


def test_protocol_switches_are_enforced(server: Server, provider: Any, tenant: Tenant) -> None:
    imap, pop3 = server.mail("imap"), server.mail("pop3")
    owa, eas = server.mail("imap_owa"), server.mail("imap_activesync")

    no_imap = unique("noimap")
    pw = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": no_imap},
            **mailbox_params(f"{no_imap}@{tenant.domain}", imap4=False, owa=False),
        )
    )["password"]
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(*imap, no_imap, pw)
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(*owa, no_imap, pw)
    pop3_login(*pop3, no_imap, pw).quit()  # POP3 still on
    imap_login(*eas, no_imap, pw).logout()  # ActiveSync gateway still on

    no_pop = unique("nopop")
    pw = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": no_pop},
            **mailbox_params(f"{no_pop}@{tenant.domain}", pop3=False, active_sync=False),
        )
    )["password"]
    with pytest.raises(poplib.error_proto):
        pop3_login(*pop3, no_pop, pw)
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(*eas, no_pop, pw)
    imap_login(*imap, no_pop, pw).logout()
    imap_login(*owa, no_pop, pw).logout()


def test_wrong_password_is_refused(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("wrong")
    ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(*server.mail("imap"), login, "not-the-password")


# -------------------------------------------------------------------------------- size limit


def test_size_limit_is_the_quota(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("small")
    primary = f"{login}@{tenant.domain}"
    pw = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            **mailbox_params(primary, size_limit=200),
        )
    )["password"]
    imap = imap_login(*server.mail("imap"), login, pw)
    assert imap_append(imap, "INBOX", make_message("fits", 150 * 1024))[0] == "OK"
    typ, data = imap_append(imap, "INBOX", make_message("too much", 150 * 1024))
    assert typ == "NO" and b"OVERQUOTA" in b" ".join(data)
    imap.logout()
    rcpt, data_code = lmtp_deliver(*server.mail("lmtp"), primary, "big", 100 * 1024)
    assert 552 in (rcpt, data_code)


# ------------------------------------------------------------------- service choice and users


def test_user_id_of_a_bound_user_uses_its_subscription(server: Server, provider: Any) -> None:
    tenant = make_tenant(provider)
    login = unique("bound")
    user_id = ok(
        provider.pem.addUser(
            {"subscription_id": tenant.subscription_id, "login": login, "password": "Bound-Pass-1"}
        )
    )["user_id"]
    before = usage(provider, tenant.subscription_id)
    result = ok(
        add(provider, user_id=user_id, **mailbox_params(f"{login}@{tenant.domain}", size_limit=300))
    )
    assert "password" not in result and result["user_id"] == user_id
    after = usage(provider, tenant.subscription_id)
    assert after[1] == before[1] + 1 and after[2] == before[2] + 300
    imap_login(*server.mail("imap"), login, "Bound-Pass-1").logout()


def test_unbound_user_uses_the_account_wide_service(server: Server, provider: Any) -> None:
    wide = make_tenant(provider, account_wide=True)
    login = unique("wide")
    user_id = ok(
        provider.pem.addUser(
            {"owner_account_id": wide.customer_id, "login": login, "password": "Wide-Pass-12"}
        )
    )["user_id"]
    before = usage(provider, wide.subscription_id)
    ok(add(provider, user_id=user_id, **mailbox_params(f"{login}@{wide.domain}")))
    assert usage(provider, wide.subscription_id)[1] == before[1] + 1
    imap_login(*server.mail("imap"), login, "Wide-Pass-12").logout()

    # new_user on an account-wide subscription: the user stays unbound (account-wide).
    other = unique("wide")
    result = ok(
        add(
            provider,
            new_user={"subscription_id": wide.subscription_id, "login": other},
            **mailbox_params(f"{other}@{wide.domain}"),
        )
    )
    users = ok(provider.pem.getAccountServiceUsers({"account_id": wide.customer_id}))
    assert result["user_id"] in [u["user_id"] for u in users]
    assert ok(provider.pem.getUserInfo({"user_id": result["user_id"]}))["subscription_id"] == 0


def test_no_exchange_service_error_then_bind(server: Server, provider: Any) -> None:
    tenant = make_tenant(provider)  # subscription-local only: no account-wide service
    login = unique("lonely")
    user_id = ok(
        provider.pem.addUser(
            {"owner_account_id": tenant.customer_id, "login": login, "password": "Lonely-Pass-1"}
        )
    )["user_id"]
    params = mailbox_params(f"{login}@{tenant.domain}")
    before = usage(provider, tenant.subscription_id)
    response = err(add(provider, user_id=user_id, **params), NO_EXCHANGE_SERVICE)
    assert "pem.bindUserToSubscription" in response["error_message"]
    assert usage(provider, tenant.subscription_id) == before

    ok(
        provider.pem.bindUserToSubscription(
            {"user_id": user_id, "subscription_id": tenant.subscription_id}
        )
    )
    ok(add(provider, user_id=user_id, **params))
    imap_login(*server.mail("imap"), login, "Lonely-Pass-1").logout()


def test_existing_login_reuses_its_user(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("reuse")
    user_id = ok(
        provider.pem.addUser(
            {"subscription_id": tenant.subscription_id, "login": login, "password": "Reuse-Pass-1"}
        )
    )["user_id"]
    result = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login.upper()},
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )
    assert result["user_id"] == user_id and "password" not in result
    imap_login(*server.mail("imap"), login, "Reuse-Pass-1").logout()


def test_reseller_adds_mailboxes_for_its_own_customers_only(server: Server, provider: Any) -> None:
    reseller_id, reseller = make_reseller(provider, server)
    pool = ok(
        provider.pem.activateSubscription(
            {
                "account_id": reseller_id,
                "service_template_id": ok(
                    provider.pem.addServiceTemplate(
                        {
                            "name": unique("pool"),
                            "resource_types": [
                                {"resource_type_id": 1, "resource_limit": 5},
                                {"resource_type_id": 2, "resource_limit": 100_000},
                            ],
                        }
                    )
                )["service_template_id"],
            }
        )
    )["subscription_id"]
    template = ok(
        provider.pem.addServiceTemplate(
            {
                "name": unique("resold"),
                "owner_account_id": reseller_id,
                "source_subscription_id": pool,
                "resource_types": [
                    {"resource_type_id": 1, "resource_limit": 5},
                    {"resource_type_id": 2, "resource_limit": 100_000},
                ],
            }
        )
    )["service_template_id"]
    mine = make_tenant(reseller, template_id=template)
    login = unique("rc")
    result = ok(
        add(
            reseller,
            new_user={"subscription_id": mine.subscription_id, "login": login},
            **mailbox_params(f"{login}@{mine.domain}"),
        )
    )
    imap_login(*server.mail("imap"), login, result["password"]).logout()
    assert usage(provider, pool)[1] == 1  # counted in the reseller's pool too

    foreign = make_tenant(provider)  # the provider's own customer
    other = unique("rc")
    missing = err(
        add(
            reseller,
            new_user={"subscription_id": 999_999, "login": other},
            **mailbox_params(f"{other}@{foreign.domain}"),
        ),
        OBJECT_NOT_FOUND,
    )
    hidden = err(
        add(
            reseller,
            new_user={"subscription_id": foreign.subscription_id, "login": other},
            **mailbox_params(f"{other}@{foreign.domain}"),
        ),
        OBJECT_NOT_FOUND,
    )
    assert hidden["error_message"].replace(str(foreign.subscription_id), "N") == missing[
        "error_message"
    ].replace("999999", "N")
    assert usage(provider, foreign.subscription_id)[1] == 0


# ----------------------------------------------------------------- failures change nothing


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("both_user_id_and_new_user", INVALID_ARGUMENTS),
        ("neither", INVALID_ARGUMENTS),
        ("foreign_primary", FOREIGN_DOMAIN),
        ("foreign_alternative", FOREIGN_DOMAIN),
        ("unknown_domain", FOREIGN_DOMAIN),
        ("address_in_use", ADDRESS_IN_USE),
        ("address_in_use_other_case", ADDRESS_IN_USE),
        ("duplicate_in_request", INVALID_ARGUMENTS),
        ("password_too_long", PASSWORD_REJECTED),
        ("storage_limit", RESOURCE_LIMIT_EXCEEDED),
        ("bad_address", INVALID_ARGUMENTS),
        ("zero_size_limit", INVALID_ARGUMENTS),
        ("missing_required", INVALID_ARGUMENTS),
        ("string_for_int", INVALID_ARGUMENTS),
        ("unknown_field", INVALID_ARGUMENTS),
    ],
)
def test_errors_leave_nothing_behind(
    server: Server, provider: Any, tenant: Tenant, case: str, expected: WireError
) -> None:
    taken = unique("taken")
    ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": taken},
            **mailbox_params(f"{taken}@{tenant.domain}"),
        )
    )
    foreign = make_tenant(provider)
    login = unique("fail")
    address = f"{login}@{tenant.domain}"
    params: dict[str, Any] = {
        "new_user": {"subscription_id": tenant.subscription_id, "login": login},
        **mailbox_params(address),
    }
    if case == "both_user_id_and_new_user":
        params["user_id"] = 1
    elif case == "neither":
        del params["new_user"]
    elif case == "foreign_primary":
        params["primary_email_address"] = f"{login}@{foreign.domain}"
    elif case == "foreign_alternative":
        params["alt_email_addresses"] = [f"x{login}@{tenant.domain}", f"{login}@{foreign.domain}"]
    elif case == "unknown_domain":
        params["alt_email_addresses"] = [f"{login}@nowhere-{login}.example"]
    elif case == "address_in_use":
        params["alt_email_addresses"] = [f"{taken}@{tenant.domain}"]
    elif case == "address_in_use_other_case":
        params["primary_email_address"] = f"{taken.upper()}@{tenant.domain.upper()}"
    elif case == "duplicate_in_request":
        params["alt_email_addresses"] = [address.upper()]
    elif case == "password_too_long":
        params["new_user"]["password"] = "ä" * 37  # 74 bytes in UTF-8
    elif case == "storage_limit":
        params["size_limit"] = 10_000_001
    elif case == "bad_address":
        params["primary_email_address"] = "not an address"
    elif case == "zero_size_limit":
        params["size_limit"] = 0
    elif case == "missing_required":
        del params["imap4"]
    elif case == "string_for_int":
        params["size_limit"] = "100"
    elif case == "unknown_field":
        params["quota"] = 5
    before = usage(provider, tenant.subscription_id)
    err(add(provider, **params), expected)
    assert usage(provider, tenant.subscription_id) == before
    err(provider.pem.getUserByLogin({"login": login}), OBJECT_NOT_FOUND)
    # The addresses are still free: the same login and address work now.
    result = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            **mailbox_params(address),
        )
    )
    assert result["mailbox_id"] > 0


def test_mailbox_limit_reached(server: Server, provider: Any) -> None:
    tenant = make_tenant(provider, limits={1: 1, 2: 100_000})
    first = unique("one")
    ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": first},
            **mailbox_params(f"{first}@{tenant.domain}"),
        )
    )
    second = unique("two")
    response = err(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": second},
            **mailbox_params(f"{second}@{tenant.domain}"),
        ),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert response["error_message"] == (
        f'The usage of the resource "Mailboxes" for subscription with ID '
        f'"{tenant.subscription_id}" exceeds the value of "1"'
    )
    assert usage(provider, tenant.subscription_id)[1] == 1
    err(provider.pem.getUserByLogin({"login": second}), OBJECT_NOT_FOUND)
    rcpt, _ = lmtp_deliver(*server.mail("lmtp"), f"{second}@{tenant.domain}", "nobody home")
    assert rcpt == 550


def test_a_user_has_at_most_one_mailbox(server: Server, provider: Any, tenant: Tenant) -> None:
    login = unique("twice")
    user_id = ok(
        add(
            provider,
            new_user={"subscription_id": tenant.subscription_id, "login": login},
            **mailbox_params(f"{login}@{tenant.domain}"),
        )
    )["user_id"]
    before = usage(provider, tenant.subscription_id)
    err(
        add(provider, user_id=user_id, **mailbox_params(f"second-{login}@{tenant.domain}")),
        USER_HAS_MAILBOX,
    )
    assert usage(provider, tenant.subscription_id) == before
