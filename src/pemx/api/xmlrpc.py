"""XML-RPC on the wire: a defused parser (no DTDs, no entities) and response marshalling."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from defusedxml.common import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

# XML-RPC fault codes from the de-facto spec (xmlrpc-epi "specs for fault code interop").
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


class XmlRpcRequestError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_call(body: bytes) -> tuple[str, tuple[Any, ...]]:
    """Parse a methodCall; DTDs, entity declarations and external references are refused."""
    unmarshaller = xmlrpc.client.Unmarshaller(use_datetime=False, use_builtin_types=True)
    parser = DefusedExpatParser(unmarshaller, forbid_dtd=True)
    try:
        parser.feed(body)
        parser.close()
        params = unmarshaller.close()
        method = unmarshaller.getmethodname()
    except DefusedXmlException as exc:
        raise XmlRpcRequestError(PARSE_ERROR, f"Forbidden XML construct: {exc}") from None
    except (xmlrpc.client.ResponseError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise XmlRpcRequestError(PARSE_ERROR, f"Malformed XML-RPC request: {exc}") from None
    except Exception as exc:  # expat raises its own ExpatError type
        raise XmlRpcRequestError(PARSE_ERROR, f"Malformed XML: {exc}") from None
    if not method:
        raise XmlRpcRequestError(INVALID_REQUEST, "The request has no methodName")
    return method, tuple(params)


def dump_response(value: Any) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=False).encode("utf-8")


def dump_fault(code: int, message: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, message)).encode("utf-8")
