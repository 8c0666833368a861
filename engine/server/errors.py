"""The one error body every endpoint answers with, and the handlers that produce it.

Every refusal is ``{"detail": "<one sentence>"}``; a flow that does not validate
adds ``problems`` (the validator's findings). FastAPI's own request validation
errors are turned into the same shape, so clients read one field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("flowdesk.server")


class ErrorBody(BaseModel):
    detail: str
    problems: list[dict[str, Any]] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "A request that cannot be carried out as given"),
        (401, "Missing, invalid, expired or revoked access token"),
        (403, "The signed-in user's roles do not allow this"),
        (404, "No such thing"),
        (409, "The thing is not in a state that allows this"),
        (413, "The request body is too large"),
        (422, "The request is malformed or the flow does not validate"),
        (429, "Too many failed logins; try again after Retry-After seconds"),
    )
}


def _sentence(errors: list[Any]) -> str:
    if not errors:
        return "the request is not valid"
    first = errors[0]
    if first.get("type") == "json_invalid":  # the same words as POST /flows uses
        reason = (first.get("ctx") or {}).get("error") or "it cannot be parsed"
        return f"the body is not valid JSON ({reason})"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    msg = str(first.get("msg", "is not valid")).rstrip(".")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" \
        if len(errors) > 1 else ""
    return f"'{where}': {msg}{more}"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        problems = [{"severity": "error", "message": str(e.get("msg")),
                     "field": ".".join(str(p) for p in e.get("loc", ()))} for e in errors]
        return JSONResponse({"detail": _sentence(errors), "problems": problems},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while answering a request", type(exc).__name__,
                  exc_info=exc)
        return JSONResponse({"detail": "the server failed unexpectedly; its log says why"},
                            status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.detail if isinstance(exc.detail, str)
                                else str(exc.detail)}
        if isinstance(exc.detail, dict):
            body = dict(exc.detail)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
