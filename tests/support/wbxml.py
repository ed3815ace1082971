"""A small WBXML codec for ActiveSync (MS-ASWBXML): the code pages the groupware tests
use (AirSync, Email, FolderHierarchy, Search, GAL). Written here because no maintained
Python package speaks EAS 14 WBXML (pyactivesync is 16.1 only); libwbxml2-utils'
xml2wbxml does the same from a shell.

A document is built from ``Tag`` values named "Page:Name" (the page is inherited by
children given as plain "Name"), and decoded into ElementTree elements named "Name".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

PAGES: dict[int, tuple[str, dict[int, str]]] = {
    0: ("AirSync", {
        0x05: "Sync", 0x06: "Responses", 0x07: "Add", 0x08: "Change", 0x09: "Delete",
        0x0A: "Fetch", 0x0B: "SyncKey", 0x0C: "ClientId", 0x0D: "ServerId", 0x0E: "Status",
        0x0F: "Collection", 0x10: "Class", 0x12: "CollectionId", 0x13: "GetChanges",
        0x14: "MoreAvailable", 0x15: "WindowSize", 0x16: "Commands", 0x17: "Options",
        0x18: "FilterType", 0x1B: "Conflict", 0x1C: "Collections", 0x1D: "ApplicationData",
        0x1E: "DeletesAsMoves", 0x20: "Supported", 0x21: "SoftDelete", 0x22: "MIMESupport",
        0x23: "MIMETruncation", 0x24: "Wait", 0x25: "Limit", 0x26: "Partial",
    }),
    2: ("Email", {
        0x0F: "DateReceived", 0x10: "DisplayName", 0x11: "DisplayTo", 0x12: "Importance",
        0x13: "MessageClass", 0x14: "Subject", 0x15: "Read", 0x16: "To", 0x17: "Cc",
        0x18: "From", 0x19: "ReplyTo",
    }),
    7: ("FolderHierarchy", {
        0x07: "DisplayName", 0x08: "ServerId", 0x09: "ParentId", 0x0A: "Type",
        0x0C: "Status", 0x0E: "Changes", 0x0F: "Add", 0x10: "Delete", 0x11: "Update",
        0x12: "SyncKey", 0x13: "FolderCreate", 0x14: "FolderDelete", 0x15: "FolderUpdate",
        0x16: "FolderSync", 0x17: "Count",
    }),
    15: ("Search", {
        0x05: "Search", 0x07: "Store", 0x08: "Name", 0x09: "Query", 0x0A: "Options",
        0x0B: "Range", 0x0C: "Status", 0x0D: "Response", 0x0E: "Result", 0x0F: "Properties",
        0x10: "Total",
    }),
    16: ("GAL", {
        0x05: "DisplayName", 0x06: "Phone", 0x07: "Office", 0x08: "Title", 0x09: "Company",
        0x0A: "Alias", 0x0B: "FirstName", 0x0C: "LastName", 0x0D: "HomePhone",
        0x0E: "MobilePhone", 0x0F: "EmailAddress",
    }),
    17: ("AirSyncBase", {
        0x05: "BodyPreference", 0x06: "Type", 0x07: "TruncationSize", 0x08: "AllOrNone",
        0x0A: "Body", 0x0B: "Data", 0x0C: "EstimatedDataSize", 0x0D: "Truncated",
    }),
}  # fmt: skip
_CODES = {
    name: {tag: (page, code) for code, tag in tags.items()} for page, (name, tags) in PAGES.items()
}
SWITCH_PAGE, END, STR_I, OPAQUE = 0x00, 0x01, 0x03, 0xC3
HEADER = bytes([0x03, 0x01, 0x6A, 0x00])  # WBXML 1.3, unknown public id, UTF-8, no strings


@dataclass
class Tag:
    name: str  # "Page:Name", or "Name" on the parent's page
    children: list[Tag | str] = field(default_factory=list)


def T(name: str, *children: Tag | str) -> Tag:
    return Tag(name, list(children))


def encode(root: Tag) -> bytes:
    out = bytearray(HEADER)
    current = [0]  # the code page in force in the output

    def emit(tag: Tag, parent_page: str) -> None:
        prefix, _, local = tag.name.rpartition(":")
        page_name = prefix or parent_page
        page, code = _CODES[page_name][local]
        if page != current[0]:
            out.extend((SWITCH_PAGE, page))
            current[0] = page
        if not tag.children:
            out.append(code)
            return
        out.append(code | 0x40)
        for child in tag.children:
            if isinstance(child, str):
                out.append(STR_I)
                out.extend(child.encode() + b"\0")
            else:
                emit(child, page_name)
        out.append(END)

    emit(root, "")
    return bytes(out)


def decode(data: bytes) -> ET.Element:
    """The document's root element; tags are local names, text is the element's text."""
    pos = 4 if data[:1] == b"\x03" else 0
    if data[3] != 0:  # a string table: EAS servers send none
        raise ValueError("WBXML string tables are not supported")
    page = 0
    stack: list[ET.Element] = []
    root: ET.Element | None = None
    while pos < len(data):
        token = data[pos]
        pos += 1
        if token == SWITCH_PAGE:
            page = data[pos]
            pos += 1
        elif token == END:
            stack.pop()
        elif token == STR_I:
            end = data.index(b"\0", pos)
            stack[-1].text = (stack[-1].text or "") + data[pos:end].decode()
            pos = end + 1
        elif token == OPAQUE:
            length, pos = _mb_uint(data, pos)
            stack[-1].text = data[pos : pos + length].decode(errors="replace")
            pos += length
        else:
            code = token & 0x3F
            name = PAGES.get(page, ("?", {}))[1].get(code, f"p{page}x{code:02x}")
            element = ET.Element(name)
            if stack:
                stack[-1].append(element)
            else:
                root = element
            if token & 0x40:
                stack.append(element)
    if root is None:
        raise ValueError("empty WBXML document")
    return root


def _mb_uint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
