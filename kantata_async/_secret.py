"""Keeping secrets out of text: `Secret` for reprs, `Redactor` for what a server sends back.

A server may echo what it was sent (a token in an error message, a client secret in a
validation error, a Location header carrying a code). Every text that came from the server
goes through one `Redactor` before it reaches an error, a log line or anything printed.
"""

from __future__ import annotations

import html
import json
import logging
import re
import weakref
from collections.abc import Callable, Sequence
from typing import NoReturn
from urllib.parse import quote, quote_plus

from ._errors import ResponseValidationError

__all__ = ["REDACTED", "RedactedCause", "Redactor", "Secret", "invalid_answer"]

REDACTED = "[redacted]"
"""What a secret is replaced with (no JSON, URL or HTML special character, so a redacted JSON
body is still JSON)."""


class Secret(str):
    """A `str` whose `repr` is redacted.

    It is still the real value everywhere a string is used (aiohttp sends it as is); only
    `repr` changes, so a dict, an object's `vars()` or a traceback's locals never show it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


def _forms(secret: str) -> set[str]:
    """The spellings of `secret` a server can be expected to echo: raw, percent-encoded
    (path, query and form style), JSON-escaped (ASCII or not, `/` escaped or not) and
    HTML-escaped."""
    escaped = json.dumps(secret)[1:-1]
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }


_PERCENT = re.compile(r"(%[0-9A-Fa-f]{2})")
# The `user:password@` of any URL in a text (`scheme://` then no `/`, `?` or `#` before `@`).
_USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")


def _pattern(form: str) -> str:
    # Percent escapes match in either case (%2F and %2f); the rest exactly.
    return "".join(
        f"%(?i:{part[1:]})" if _PERCENT.fullmatch(part) else re.escape(part)
        for part in _PERCENT.split(form)
        if part
    )


LOGGED_SECRET_LENGTH = 12
"""Secrets at least this long are also redacted from the `kantata_async` logger's lines."""


def _compiled(secrets: Sequence[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    ordered = sorted(forms, key=lambda f: (-len(f), f))
    return re.compile("|".join(_pattern(f) for f in ordered)) if ordered else None


class Redactor:
    """Replaces every known spelling of some secrets with `[redacted]` in a text, and drops
    the `user:password@` part of any URL in it.

        redact = Redactor("s3/cr et")
        redact('{"error": "bad s3\\/cr et", "next": "?c=s3%2fcr+et"}')
        # '{"error": "bad [redacted]", "next": "?c=[redacted]"}'

    Empty secrets are ignored. Longer spellings are tried first, so an encoded form is
    replaced whole rather than around a raw substring.
    """

    __slots__ = ("__weakref__", "_regex")

    def __init__(self, *secrets: str) -> None:
        self._regex = _compiled(secrets)
        # Log lines are redacted for every live client at once, so only of what cannot be
        # a common word: a secret shorter than that (a test's token) would garble them all.
        logged = _compiled([s for s in secrets if len(s) >= LOGGED_SECRET_LENGTH])
        if logged is not None:
            _LOG_REDACTION.patterns[self] = logged

    def __call__(self, text: str) -> str:
        """`text` with every secret replaced and URL credentials removed."""
        text = _USERINFO.sub("", text)
        if self._regex is None:
            return text
        return self._regex.sub(REDACTED, text)

    def __repr__(self) -> str:
        return "Redactor(<redacted>)"


class _LogRedaction(logging.Filter):
    """On the `kantata_async` logger: every line it logs has the secrets of every live
    `Redactor` (see `LOGGED_SECRET_LENGTH`) replaced, so server text in a warning (an id, a
    key, a value) never shows one. The merge that logs does not know whose answer it reads."""

    def __init__(self) -> None:
        super().__init__()
        self.patterns: weakref.WeakKeyDictionary[Redactor, re.Pattern[str]] = (
            weakref.WeakKeyDictionary()
        )

    def filter(self, record: logging.LogRecord) -> bool:
        patterns = list(self.patterns.values())
        if patterns:
            message = clean = record.getMessage()
            for pattern in patterns:
                clean = pattern.sub(REDACTED, clean)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_LOG_REDACTION = _LogRedaction()
logging.getLogger("kantata_async").addFilter(_LOG_REDACTION)


class RedactedCause(Exception):
    """Stands in as the `__cause__` of an SDK error for an exception whose text held a
    secret: a traceback prints the cause's text, so the original cannot be chained."""


def invalid_answer(
    err: Exception, redact: Callable[[str], str], *, method: str, path: str, status: int = 200
) -> NoReturn:
    """Raise `ResponseValidationError` for `err` (a body of the wrong shape), its text
    redacted, and chained only if redacting changed nothing."""
    text = str(err)
    clean = redact(text)
    cause = err if clean == text else RedactedCause(f"{type(err).__name__}: {clean}")
    raise ResponseValidationError(clean, method=method, path=path, status=status) from cause
