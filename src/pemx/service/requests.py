"""Request ids: a request is done when its transaction committed AND the tasks it queued
are done (pem.getRequestStatus). Request ids are per account (issue 14, item 12)."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError
from pemx.domain.model import FAILED, PENDING, RUNNING
from pemx.service.ports import RequestState, RequestStatus, UnitOfWork


def request_status(
    uow: UnitOfWork, request_id: str, account_id: int, member_id: int | None
) -> RequestStatus:
    """Status of the caller's request; ``member_id`` None means provider staff, who see
    every account's requests (their own account's first)."""
    with uow.read() as tx:
        if member_id is None:
            found = tx.requests.get_any_account(request_id, account_id)
        else:
            found = tx.requests.get(request_id, account_id)
        if found is None or (member_id is not None and found.member_id != member_id):
            raise PemxError(
                ErrorCode.REQUEST_NOT_FOUND,
                f'No request with request_id "{request_id}".',
                {"request_id": request_id},
            )
        status, messages = RequestState(found.status), list(found.messages)
        if status is RequestState.SUCCEEDED:
            # Committed: the request is done when the tasks it queued are done too.
            queued = tx.outbox.find(request_id=request_id, request_account_id=found.account_id)
            failed = [t for t in queued if t.state == FAILED]
            waiting = [t for t in queued if t.state in (PENDING, RUNNING)]
            if failed:
                status = RequestState.FAILED
                messages += [f"task {t.id} {t.kind} failed: {t.last_error}" for t in failed]
            elif waiting:
                status = RequestState.RUNNING
                messages += [
                    f"task {t.id} {t.kind} {t.state}"
                    + (f" (last error: {t.last_error})" if t.last_error else "")
                    for t in waiting
                ]
    return RequestStatus(state=status, messages=tuple(messages))
