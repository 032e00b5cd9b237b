"""Structured JSON logs with the trace id bound, and NIK, KK and phone numbers masked.

Masking runs on every log line, ours and the libraries' (uvicorn, FastStream), because a
number can reach a log from anywhere: an exception message, a validation error, a URL.
"""

import logging
import re
import sys
import uuid
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

# 16 digits not inside a longer number: NIK and KK have exactly this shape.
_ID_NUMBER = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Indonesian mobile numbers in their usual written forms: 08..., 628..., +62 8...
_PHONE = re.compile(r"(?<![\d+])(?:\+62|62|0)[\s-]?8[\d\s-]{7,13}\d(?!\d)")
# A random (version 4) UUID as the services write them, with or without dashes, holding at
# least one letter: the ids of cases, events and traces. Its digits are random, and one
# such id in 350 (hex) to 550 (dashed) holds a run the patterns above take for a phone
# number or a NIK; masked, a line no longer says which case or event it is about. A run
# of 32 digits is never taken for an id.
_UUID4 = re.compile(
    r"(?<![0-9A-Za-z-])(?=[0-9-]*[a-f])"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"|[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15})"
    r"(?![0-9A-Za-z-])"
)
MASK_ID = "[NIK/KK]"
MASK_PHONE = "[TELEPON]"


def mask_personal_numbers(text: str) -> str:
    """Replace every NIK/KK-shaped number and Indonesian phone number in `text`, leaving
    the ids of cases, events and traces in it as they are."""
    masked = _mask(text)
    if masked == text:  # as most are: no need to look for ids
        return text
    parts, begun = [], 0
    for uuid4 in _UUID4.finditer(text):
        parts += [_mask(text[begun : uuid4.start()]), uuid4.group()]
        begun = uuid4.end()
    return "".join([*parts, _mask(text[begun:])])


def _mask(text: str) -> str:
    return _PHONE.sub(MASK_PHONE, _ID_NUMBER.sub(MASK_ID, text))


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 10:
        return mask_personal_numbers(str(value))
    return value


def mask_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask personal numbers in every field of the event."""
    return {key: _mask_value(value) for key, value in event_dict.items()}


class _Stderr:
    """Whatever `sys.stderr` is when a line is written: a test that captures it sees the
    lines of loggers cached before it began."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _NamedWriter(structlog.WriteLogger):
    """structlog's own logger to stderr, with the name `add_logger_name` puts on a line."""

    def __init__(self, name: str = "") -> None:
        super().__init__(file=_Stderr())  # type: ignore[arg-type]
        self.name = name


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard library through one masking, rendering chain.

    Our own lines go from structlog straight to stderr; the libraries' (uvicorn) through
    the standard library's handler, with the same processors. Passing ours through the
    standard library as well cost 33 against 19 µs a line (bench/RESULTS.md)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    # Exceptions reach the renderer formatted and masked by format_exc_info; the console
    # renderer is told so, or it warns that it would rather format them itself.
    console = structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )
    renderer: Any = structlog.processors.JSONRenderer() if json else console
    threshold = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, renderer],
        # A line below the level costs a method call that does nothing.
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_NamedWriter,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    structlog.contextvars.bind_contextvars(service=service)


TRACE_HEADER = "Slrt-Trace-Id"


def current_trace_id() -> str:
    """The trace id bound for this request or message, or a new one."""
    bound = structlog.contextvars.get_contextvars().get("trace_id")
    return str(bound) if bound else new_trace_id()


def new_trace_id() -> str:
    """A fresh trace id: a uuid4 in hex, which the masking leaves alone (see _UUID4)."""
    return uuid.uuid4().hex


def trace_id_from(given: str | None) -> str:
    """The caller's trace id (a request's X-Trace-Id), or a new one if it has none or one
    holding what looks like a NIK or phone number: a trace id travels unmasked in events
    and headers."""
    if given and mask_personal_numbers(given) == given:
        return given
    return new_trace_id()


def get_logger(name: str) -> Any:
    """A structlog logger; use keyword fields, never f-strings with personal data."""
    return structlog.get_logger(name)
