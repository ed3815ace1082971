"""Localized special-folder names: the catalogue behind mailbox initialization.

When a mailbox is initialized with a locale, Dovecot auto-creates its Drafts,
Sent, Trash, Junk and Archive folders under the names an Exchange/Outlook user
of that language expects, each with its IMAP SPECIAL-USE flag. The mail adapter
copies this catalogue into the contract table ``dovecot_folder_names``
(one row per language). INBOX is not in it: IMAP fixes that name.

Pure Python, standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "CATALOGUE",
    "DEFAULT_LANGUAGE",
    "ROLES",
    "FolderNames",
    "catalogue_rows",
    "folder_names_for",
    "is_valid_locale",
    "language_of",
]

#: The special-use roles, in the order of the ``FolderNames`` fields and of the
#: columns of ``dovecot_folder_names`` after ``language``.
ROLES: Final = ("drafts", "sent", "trash", "junk", "archive")

DEFAULT_LANGUAGE: Final = "en"


@dataclass(frozen=True, slots=True)
class FolderNames:
    """The display names of the five special-use folders in one language."""

    drafts: str
    sent: str
    trash: str
    junk: str
    archive: str

    def as_tuple(self) -> tuple[str, str, str, str, str]:
        """The names in ``ROLES`` order."""
        return (self.drafts, self.sent, self.trash, self.junk, self.archive)


# Names as Exchange / Outlook (Outlook on the web) create them for a mailbox
# whose language is set. "pt" follows Brazilian Portuguese, the larger user base.
CATALOGUE: Final[Mapping[str, FolderNames]] = MappingProxyType(
    {
        "en": FolderNames("Drafts", "Sent Items", "Deleted Items", "Junk Email", "Archive"),
        "de": FolderNames(
            "Entwürfe", "Gesendete Elemente", "Gelöschte Elemente", "Junk-E-Mail", "Archiv"
        ),
        "fr": FolderNames(
            "Brouillons",
            "Éléments envoyés",
            "Éléments supprimés",
            "Courrier indésirable",
            "Archives",
        ),
        "es": FolderNames(
            "Borradores",
            "Elementos enviados",
            "Elementos eliminados",
            "Correo no deseado",
            "Archivo",
        ),
        "it": FolderNames(
            "Bozze", "Posta inviata", "Posta eliminata", "Posta indesiderata", "Archivio"
        ),
        "nl": FolderNames(
            "Concepten", "Verzonden items", "Verwijderde items", "Ongewenste e-mail", "Archief"
        ),
        "pt": FolderNames(
            "Rascunhos", "Itens Enviados", "Itens Excluídos", "Lixo Eletrônico", "Arquivo Morto"
        ),
        "ru": FolderNames("Черновики", "Отправленные", "Удаленные", "Нежелательная почта", "Архив"),
        "pl": FolderNames(
            "Wersje robocze",
            "Elementy wysłane",
            "Elementy usunięte",
            "Wiadomości-śmieci",
            "Archiwum",
        ),
        "cs": FolderNames(
            "Koncepty", "Odeslaná pošta", "Odstraněná pošta", "Nevyžádaná pošta", "Archiv"
        ),
        "sv": FolderNames("Utkast", "Skickade objekt", "Borttagna objekt", "Skräppost", "Arkiv"),
        "da": FolderNames("Kladder", "Sendt post", "Slettet post", "Uønsket mail", "Arkiv"),
    }
)

# "de", "de_DE", "de-AT"; letter case is not significant.
_LOCALE_RE: Final = re.compile(r"[A-Za-z]{2}(?:[_-][A-Za-z]{2})?")
# Leading language subtag of anything locale-like: "pt_BR.UTF-8", "sr@latin", "EN".
_LANGUAGE_PREFIX_RE: Final = re.compile(r"\s*([A-Za-z]{2,3})(?![A-Za-z])")


def is_valid_locale(s: str) -> bool:
    """True for ``ll``, ``ll_CC`` or ``ll-CC`` (two ASCII letters each, any case)."""
    return _LOCALE_RE.fullmatch(s) is not None


def language_of(locale: str | None) -> str:
    """The catalogue language for a locale: ``'de_DE'``, ``'de-AT'``, ``'DE'`` give ``'de'``.

    ``None``, an empty string, anything unparsable and languages without a
    catalogue entry give ``DEFAULT_LANGUAGE``.
    """
    if not locale:
        return DEFAULT_LANGUAGE
    m = _LANGUAGE_PREFIX_RE.match(locale)
    if m is None:
        return DEFAULT_LANGUAGE
    lang = m.group(1).lower()
    return lang if lang in CATALOGUE else DEFAULT_LANGUAGE


def folder_names_for(locale: str | None) -> FolderNames:
    """The folder names for a locale (English when the language is unknown)."""
    return CATALOGUE[language_of(locale)]


def catalogue_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Rows for ``dovecot_folder_names``: (language, drafts, sent, trash, junk, archive)."""
    return [(lang, *names.as_tuple()) for lang, names in sorted(CATALOGUE.items())]
