"""HTTP error answers a village operator can read: Bahasa Indonesia, one line per field.

Pydantic's own messages are English and technical; these map the common error kinds to
plain words and keep the field's name so the form can show the message beside it.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import DATABASE_UNAVAILABLE, error_detail
from shared.logging import get_logger

log = get_logger(__name__)

# The pages every service shares: sign-in (shared.web) and the error pages here.
SHARED_TEMPLATES = Path(__file__).with_name("templates")
_PAGES = Jinja2Templates(directory=SHARED_TEMPLATES)

_MESSAGES = {
    "missing": "wajib diisi",
    "string_too_short": "terlalu pendek",
    "string_too_long": "terlalu panjang",
    "date_from_datetime_parsing": "tanggal tidak valid, gunakan format TTTT-BB-HH",
    "date_parsing": "tanggal tidak valid, gunakan format TTTT-BB-HH",
    "date_type": "tanggal tidak valid, gunakan format TTTT-BB-HH",
    "bool_parsing": "harus ya atau tidak",
    "json_invalid": "isian tidak dapat dibaca (JSON tidak valid)",
    "model_attributes_type": "isian harus berupa objek JSON",
    "dict_type": "isian harus berupa objek JSON",
    "string_type": "harus berupa teks",
}


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """One {field, message} per problem, without echoing the submitted value.

    Takes the `errors()` of a RequestValidationError or of a pydantic ValidationError, so
    the API and the web form say the same words.
    """
    return [{"field": _field_name(err["loc"]), "message": _message(err)} for err in errors]


def error_summary(errors: Sequence[dict[str, str]]) -> str:
    """`field: message; field: message`, as the API's 422 and the forms say it."""
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "permintaan"


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err.get("msg", "")))
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        return f"pilihan tidak dikenal; pilih salah satu dari: {expected}"
    return _MESSAGES.get(kind, "isian tidak valid")


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    return JSONResponse(
        status_code=422,
        content={"message": f"Data belum benar. {error_summary(errors)}", "errors": errors},
    )


class Refusal(Exception):
    """A request the service understood and refuses, with a message for the operator."""

    def __init__(self, status_code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.extra = extra


def field_refusal(field: str, message: str) -> Refusal:
    """A 422 for one field, shaped like the validation errors so forms show it alike."""
    return Refusal(
        422, f"Data belum benar. {field}: {message}", errors=[{"field": field, "message": message}]
    )


async def _refusal(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    return JSONResponse(status_code=exc.status_code, content={"message": exc.message, **exc.extra})


# Starlette's own refusals (no such route, wrong method) in the operator's words.
_HTTP_MESSAGES = {
    404: "Alamat tidak ditemukan.",
    405: "Metode ini tidak dipakai untuk alamat ini.",
}


async def _http_error(_: Request, exc: Exception) -> Response:
    """Every 4xx says why in a `message`; a redirect (sign in first) stays a redirect."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)


DATABASE_AWAY_MESSAGE = (
    "Basis data layanan sedang tidak dapat dihubungi, jadi data belum tersimpan. "
    "Kirim lagi beberapa menit lagi; jika berulang, hubungi admin kabupaten."
)
RETRY_AFTER_SECONDS = 30


async def _database_error(request: Request, exc: Exception) -> Response:
    """The database is away (restarting, unreachable, its disk full): a 503 that says the
    work was not saved and when to try again, not a 500. The request's transaction did
    not commit; should the connection have broken during the commit itself, a
    registration sent again with its Idempotency-Key is still stored once."""
    log.warning(
        "database_unavailable",
        path=request.url.path,
        error=type(exc).__name__,
        detail=error_detail(exc),
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if "text/html" in request.headers.get("accept", ""):
        context = {"message": DATABASE_AWAY_MESSAGE}
        return _PAGES.TemplateResponse(
            request, "unavailable.html", context, status_code=503, headers=headers
        )
    return JSONResponse({"message": DATABASE_AWAY_MESSAGE}, status_code=503, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Refusal, _refusal)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_error)
