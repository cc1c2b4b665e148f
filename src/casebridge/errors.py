"""The one exception hierarchy of casebridge.

Every error the platform raises on purpose is a :class:`CasebridgeError`. Vendor exceptions
(SQLAlchemy, psycopg, pydantic) are translated at the adapter boundary, so that the CLI and the
API can map errors to one clear line or one problem+json document in one place each.

::

    CasebridgeError
    ├── ConfigError              a setting is unknown or invalid
    ├── StoreError               the metadata database cannot serve
    │   ├── DatabaseUnavailable  unreachable, wrong credentials, missing file permissions
    │   └── MigrationsPending    schema is not at the code's migration head
    ├── NotFound                 no such object (or the caller may not know it exists)
    ├── Conflict                 the write collides with existing state
    ├── CorruptData              stored or received bytes fail their hash or authentication tag
    ├── InvalidInput             bad input: names the field, the code and the rule
    │   └── ProcedureRefused     (domain.procedure) breaks a rule of procedure, names its basis
    ├── AuthenticationRequired   no or unknown credentials
    └── PermissionDenied         authenticated, but the policy refuses

Each class carries a stable ``code`` (the problem ``type`` suffix in the API) and the HTTP
status the API uses for it; the domain never imports HTTP, the numbers are plain data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "AuthenticationRequired",
    "CasebridgeError",
    "ConfigError",
    "Conflict",
    "CorruptData",
    "DatabaseUnavailable",
    "InvalidInput",
    "MigrationsPending",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "Said",
    "StoreError",
]


def N_(message: str) -> str:
    return message


class Said(str):
    """A message made from a template marked for translation (``N_("{ref}: file {path} is
    missing")``) and its values: the English text as a ``str`` (what logs, JSON and equality
    see), and the same message in another language through :meth:`localized`. The one
    carrier of translatable text in errors and problems; a value may itself be a ``Said``
    (or a ``PageRef``) and is then said in the same language."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, **params: object) -> Said:
        text = template.format(**{k: str(v) for k, v in params.items()}) if params else template
        said = super().__new__(cls, text)
        said.template, said.params = template, params
        return said

    def localized(self, lang: str) -> str:
        from casebridge.i18n import tr

        return tr(self.template, lang, self.params)


def _localized(message: str, lang: str) -> str:
    """``message`` in ``lang`` if it is a :class:`Said`, else as it is (plain English)."""
    return message.localized(lang) if isinstance(message, Said) else message


@dataclass(frozen=True)
class Problem:
    """One specific thing wrong with an input: where, which code, which rule. ``message`` may
    be a :class:`Said`, to be shown in the reader's language (:meth:`localized`)."""

    field: str
    message: str
    code: str | None = None
    rule: str | None = None
    extra: dict[str, object] = dataclasses.field(default_factory=dict)

    def localized(self, lang: str) -> str:
        return _localized(self.message, lang)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.code is not None:
            out["code"] = self.code
        if self.rule is not None:
            out["rule"] = self.rule
        out.update(self.extra)
        return out


class CasebridgeError(Exception):
    """Base of every error casebridge raises deliberately."""

    code = "error"
    status = 500
    title = N_("Internal error")

    def __init__(
        self,
        message: str,
        *,
        problems: list[Problem] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        """``message`` is either the final English text, or (with ``params``) a template
        marked for translation, e.g. ``N_("{ref}: received bytes do not match")``, so that
        the CLI and the API can say it in the user's language (:meth:`localized`)."""
        said = Said(message, **(params or {}))
        super().__init__(str(said))
        self.message: str = said
        self.problems: list[Problem] = list(problems or [])

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English where the catalog has no entry for it)."""
        return _localized(self.message, lang)


class ConfigError(CasebridgeError):
    code = "config-error"
    status = 500
    title = N_("Invalid configuration")


class StoreError(CasebridgeError):
    code = "store-error"
    status = 503
    title = N_("Storage unavailable")


class DatabaseUnavailable(StoreError):
    code = "database-unavailable"
    title = N_("Database unavailable")


class MigrationsPending(StoreError):
    code = "migrations-pending"
    title = N_("Database schema is not current")


class NotFound(CasebridgeError):
    code = "not-found"
    status = 404
    title = N_("Not found")


class Conflict(CasebridgeError):
    code = "conflict"
    status = 409
    title = N_("Conflict")


class CorruptData(CasebridgeError):
    """Bytes that fail verification: never handed on, always named (dossier, document, page)."""

    code = "corrupt-data"
    status = 500
    title = N_("Data failed verification")


class AlteredData(CorruptData):
    """Stored bytes that fail their authentication tag or their hash: altered where they lie
    (the disk, the object store). Distinct from blobs this hub cannot read at all (another
    key-encryption key, another suite: a configuration to fix, not data to replace), because
    only altered pages may be forgotten and asked for again."""


class InvalidInput(CasebridgeError):
    code = "invalid-input"
    status = 422
    title = N_("Invalid input")


class TooLarge(InvalidInput):
    code = "too-large"
    status = 413
    title = N_("Request too large")


class AuthenticationRequired(CasebridgeError):
    code = "authentication-required"
    status = 401
    title = N_("Authentication required")


class PermissionDenied(CasebridgeError):
    code = "permission-denied"
    status = 403
    title = N_("Permission denied")
