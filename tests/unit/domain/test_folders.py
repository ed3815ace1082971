"""The localized special-folder catalogue (pure, no Dovecot needed)."""

from __future__ import annotations

import dataclasses

import pytest

from pemx.domain.folders import (
    CATALOGUE,
    DEFAULT_LANGUAGE,
    ROLES,
    FolderNames,
    catalogue_rows,
    folder_names_for,
    is_valid_locale,
    language_of,
)


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("de", "de"),
        ("de_DE", "de"),
        ("de-AT", "de"),
        ("DE", "de"),
        ("pt_BR", "pt"),
        ("pt-PT", "pt"),
        ("ru_RU.UTF-8", "ru"),
        (" fr_CA", "fr"),
        ("en_GB", "en"),
        ("ja_JP", "en"),
        ("xx", "en"),
        ("", "en"),
        (None, "en"),
        ("german", "en"),
        ("1de", "en"),
    ],
)
def test_language_of(locale: str | None, language: str) -> None:
    assert language_of(locale) == language


@pytest.mark.parametrize("locale", ["de", "de_DE", "de-AT", "EN", "pt_br", "zz_ZZ"])
def test_valid_locales(locale: str) -> None:
    assert is_valid_locale(locale)


@pytest.mark.parametrize(
    "locale", ["", "d", "deu", "de_", "de_DEU", "de.DE", "de_DE.UTF-8", "1e", " de", "de "]
)
def test_invalid_locales(locale: str) -> None:
    assert not is_valid_locale(locale)


def test_catalogue_languages() -> None:
    assert DEFAULT_LANGUAGE == "en"
    assert {"en", "de", "fr", "es", "it", "nl", "pt", "ru"} <= set(CATALOGUE)
    assert all(len(lang) == 2 and lang.islower() for lang in CATALOGUE)
    assert CATALOGUE["en"] == FolderNames(
        "Drafts", "Sent Items", "Deleted Items", "Junk Email", "Archive"
    )
    assert CATALOGUE["de"].trash == "Gelöschte Elemente"
    assert folder_names_for("de_CH") is CATALOGUE["de"]
    assert folder_names_for("tlh") is CATALOGUE["en"]


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_names_are_usable_imap_folder_names(language: str) -> None:
    names = CATALOGUE[language].as_tuple()
    assert len(set(names)) == 5, "one folder per role"
    for name in names:
        assert name and name == name.strip()
        assert "/" not in name, "'/' is the hierarchy separator"
        assert not set(name) & set('*%"\\~'), name
        assert name.upper() != "INBOX"


def test_catalogue_is_immutable() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["xx"] = CATALOGUE["en"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE["en"].drafts = "x"  # type: ignore[misc]


def test_catalogue_rows_match_the_contract_table() -> None:
    rows = catalogue_rows()
    assert [r[0] for r in rows] == sorted(CATALOGUE)
    assert tuple(f.name for f in dataclasses.fields(FolderNames)) == ROLES
    for lang, *names in rows:
        assert tuple(names) == CATALOGUE[lang].as_tuple()
