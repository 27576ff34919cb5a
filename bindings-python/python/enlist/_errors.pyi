"""Type stub of ``enlist._errors``: the exception classes, their fact
attributes and their docstrings.

Hand-written for type checkers, and the home of each class's docstring: at
run time the family classes are built from the engine's error catalogue
(``enlist._enlist._error_codes()``) and take their docstrings from here.
``tests/test_errors.py`` compares the attributes declared here with the
catalogue and prints the fix on drift.
"""


import datetime
from typing import Any, ClassVar, List, Optional

from ._enums import (
    EntityKind,
    ErrorFamily,
    Feature,
    InvitationStatus,
    LimitKind,
    Permission,
    RegistrationField,
    UniqueRule,
)

from ._enlist import AddressProblem


class EnlistError(Exception):
    """The base class of every error enlist raises."""

    family: ClassVar[Optional[ErrorFamily]] = None
    code: str = "error"
    message: str = ""
    facts: dict[str, Any]

    def __init__(self, message: str = "", *, code: Optional[str] = None, **facts: Any) -> None: ...


class InvalidInputError(EnlistError):
    """The input is malformed (a field, an address, an incomplete
    registration, a domain the organization does not allow, a bulk
    action's confirmation number that does not match): fix it and
    retry."""

    family = ErrorFamily.INVALID_INPUT
    code = "invalid_input"
    field: Optional[str] = None
    reason: Optional[str] = None
    missing: Optional[List[RegistrationField]] = None
    invited: Optional[str] = None
    presented: Optional[str] = None
    domain: Optional[str] = None
    address_problem: Optional[AddressProblem] = None


class LimitExceededError(EnlistError):
    """A configured limit was reached (batch size, seats, resend cap or
    cooldown, access-code attempts, field length, page size); nothing was
    changed."""

    family = ErrorFamily.LIMIT_EXCEEDED
    code = "limit_exceeded"
    limit: Optional[LimitKind] = None
    max: Optional[int] = None
    actual: Optional[int] = None
    detail: Optional[str] = None
    invitation: Optional[str] = None
    retry_after: Optional[datetime.datetime] = None


class PermissionDeniedError(EnlistError):
    """The actor may not do this: a member lacking a permission
    (``permission_denied``), an actor who is not an active member of the
    organization (``not_a_member``), a feature disabled by the
    organization's policy (``disabled``), a change the host's
    before-hook refused (``hook_refused``, with its ``reason``), or an
    actor lacking a permission the host defined
    (``custom_permission_denied``, from ``Enlist.authorize``)."""

    family = ErrorFamily.PERMISSION_DENIED
    code = "permission_denied"
    actor: Optional[str] = None
    organization: Optional[str] = None
    permission: Optional[Permission] = None
    context: Optional[str] = None
    feature: Optional[Feature] = None
    reason: Optional[str] = None
    custom_permission: Optional[str] = None


class NotFoundError(EnlistError):
    """Something named does not exist (or the link or code is not valid)."""

    family = ErrorFamily.NOT_FOUND
    code = "not_found"
    entity: Optional[EntityKind] = None
    id: Optional[str] = None
    group: Optional[str] = None


class ConflictError(EnlistError):
    """The state does not allow it: already a member, already invited, the
    invitation is no longer open, an access code that is not kept
    (``access_code_not_kept``: ``key_configured`` tells whether the host
    gave a sealing key), ..."""

    family = ErrorFamily.CONFLICT
    code = "conflict"
    recipient: Optional[str] = None
    member: Optional[str] = None
    invitation: Optional[str] = None
    status: Optional[InvitationStatus] = None
    reason: Optional[str] = None
    key_configured: bool = False
    link: Optional[str] = None


class ExpiredError(EnlistError):
    """The invitation has expired: ask for it to be resent."""

    family = ErrorFamily.EXPIRED
    code = "invitation_expired"
    invitation: Optional[str] = None
    expired_at: Optional[datetime.datetime] = None
    link: Optional[str] = None


class RevokedError(EnlistError):
    """The invitation was revoked (or locked by wrong access codes)."""

    family = ErrorFamily.REVOKED
    code = "invitation_revoked"
    invitation: Optional[str] = None


class StorageError(EnlistError):
    """The store failed (``storage``): ``store_error`` says how
    (``conflict``, ``unique``, with the ``rule``, ``unavailable``,
    ``schema_too_new``, ``corrupt``, ``invalid_cursor``, ``other``). Or
    other writers kept changing the same data until the engine's retries
    ran out (``retries_exhausted``, after ``attempts`` runs): nothing was
    changed, and running the command again may succeed."""

    family = ErrorFamily.STORAGE
    code = "storage"
    attempts: Optional[int] = None
    store_error: Optional[str] = None
    rule: Optional[UniqueRule] = None
    found: Optional[int] = None
    supported: Optional[int] = None


class MailError(EnlistError):
    """Mail delivery failed.

    A mailer given to ``Enlist.deliver_pending`` may raise it with
    ``permanent=True`` to have the message given up on at once; any other
    exception is a temporary failure, retried as the outbox's retry policy
    says."""

    family = ErrorFamily.MAIL
    code = "mail"
    permanent: bool = False
