"""RFC 9457 problem+json: the one place that maps errors to HTTP responses.

The ``title`` is in the language the client asks for (``Accept-Language``: Simplified Chinese
or English); ``type`` and the problem ``field``/``rule`` codes stay language-neutral.

Each error kind has a stable ``type`` URI (``urn:casebridge:problem:<code>``) that clients may
switch on; ``detail`` is for people; ``problems`` lists every field-level problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from casebridge.errors import CasebridgeError
from casebridge.i18n import N_, content_language, negotiate, tr, translate
from casebridge.logs import get_logger
from casebridge.store.uow import conflict_from

__all__ = ["PROBLEM_MEDIA_TYPE", "install_problem_handlers", "problem", "problem_type"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = get_logger("casebridge.hub")

_HTTP_CODES = {
    400: ("bad-request", N_("Bad request")),
    401: ("authentication-required", N_("Authentication required")),
    403: ("permission-denied", N_("Permission denied")),
    404: ("not-found", N_("Not found")),
    405: ("method-not-allowed", N_("Method not allowed")),
    406: ("not-acceptable", N_("Not acceptable")),
    409: ("conflict", N_("Conflict")),
    413: ("payload-too-large", N_("Payload too large")),
    415: ("unsupported-media-type", N_("Unsupported media type")),
    416: ("range-not-satisfiable", N_("Range not satisfiable")),
    422: ("invalid-input", N_("Invalid input")),
    429: ("too-many-requests", N_("Too many requests")),
}


def problem_type(code: str) -> str:
    return f"urn:casebridge:problem:{code}"


def problem(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    lang = negotiate(request.headers.get("accept-language"))
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": translate(title, lang),
        "status": status,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if detail:
        body["detail"] = detail
    if problems:
        body["problems"] = problems
    out = {**(headers or {}), "Content-Language": content_language(lang)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=out)


async def _casebridge_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CasebridgeError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status >= 500:
        _log.error("request.error", error=exc.code, detail=exc.message)
    lang = negotiate(request.headers.get("accept-language"))
    return problem(
        request,
        exc.status,
        exc.code,
        exc.title,
        exc.localized(lang),
        [{**p.as_dict(), "message": p.localized(lang)} for p in exc.problems],
        headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [
        {
            "field": ".".join(str(part) for part in err["loc"]),
            "message": err["msg"],
            "rule": err["type"],
        }
        for err in exc.errors()
    ]
    lang = negotiate(request.headers.get("accept-language"))
    return problem(
        request,
        422,
        "invalid-input",
        N_("Invalid input"),
        tr(N_("{count} problem(s) in the request"), lang, {"count": len(items)}),
        items,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("http-error", N_("HTTP error")))
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(request, exc.status_code, code, title, detail, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A write a constraint refused and no service translated — a race for a unique key
    between two requests — is a conflict to retry (409), not an internal error (500)."""
    assert isinstance(exc, IntegrityError)
    conflict = conflict_from(exc)
    _log.warning("request.conflict", error=type(exc).__name__, detail=conflict.message)
    return await _casebridge_error(request, conflict)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("request.unhandled", error=type(exc).__name__)
    lang = negotiate(request.headers.get("accept-language"))
    return problem(
        request,
        500,
        "internal-error",
        N_("Internal error"),
        translate(N_("unexpected error; quote the request id to the operator"), lang),
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CasebridgeError, _casebridge_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unhandled)
