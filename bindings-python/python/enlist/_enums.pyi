"""Type stub of ``enlist._enums``: the enums of enlist, as ``str`` enums.

Hand-written for type checkers, and the home of each enum's docstring: at
run time the classes are built from the native module's table of wire names
(``enlist._enlist._wire_names()``) and take their docstrings from here.
``tests/test_enums.py`` compares this stub with that table and prints the
corrected classes on drift.
"""

import enum

# The member-less base of the enums below (mypy asks a member-less enum in a
# stub to say it means it).
class _StrEnum(str, enum.Enum):  # type: ignore[misc]
    """A ``str`` enum whose ``str()`` is its value."""

    def __str__(self) -> str: ...


class MemberStatus(_StrEnum):
    """Where a member stands."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    REMOVED = "removed"


class MemberKind(_StrEnum):
    """A full member or a guest (who sees only the groups invited to)."""

    MEMBER = "member"
    GUEST = "guest"


class InvitationStatus(_StrEnum):
    """Where an invitation stands (expiry is computed on read)."""

    STAGED = "staged"
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class GroupRole(_StrEnum):
    """A member's role within one group."""

    MEMBER = "member"
    OWNER = "owner"


class BuiltinRole(_StrEnum):
    """The names of the five built-in organization roles. Organizations may
    define their own roles, so role attributes are plain strings; these
    members compare equal to them."""

    OWNER = "owner"
    ADMIN = "admin"
    USER_ADMIN = "user_admin"
    MEMBER = "member"
    GUEST = "guest"


class Permission(_StrEnum):
    """Something an actor may be allowed to do in an organization."""

    VIEW_MEMBERS = "view_members"
    INVITE_MEMBERS = "invite_members"
    INVITE_GUESTS = "invite_guests"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_GROUPS = "manage_groups"
    MANAGE_ROLES = "manage_roles"
    MANAGE_POLICY = "manage_policy"
    MANAGE_INVITE_LINK = "manage_invite_link"
    VIEW_AUDIT = "view_audit"
    MANAGE_OUTBOX = "manage_outbox"
    OWN_ORGANIZATION = "own_organization"


class OutboxStatus(_StrEnum):
    """Where a queued invitation email stands."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class GroupSort(_StrEnum):
    """How to sort a group list."""

    NAME_ASC = "name_asc"
    NAME_DESC = "name_desc"
    MEMBER_COUNT_ASC = "member_count_asc"
    MEMBER_COUNT_DESC = "member_count_desc"


class MemberSort(_StrEnum):
    """How to sort a member list."""

    EMAIL_ASC = "email_asc"
    EMAIL_DESC = "email_desc"


class ImportFormat(_StrEnum):
    """The kind of file being imported."""

    CSV = "csv"
    XLSX = "xlsx"


class AddressPart(_StrEnum):
    """Which part of an address a problem is in."""

    LOCAL_PART = "local_part"
    DOMAIN = "domain"


class LimitKind(_StrEnum):
    """Which configured limit a ``LimitExceededError`` is about."""

    BATCH_SIZE = "batch_size"
    PASTE_FIELD_CHARS = "paste_field_chars"
    IMPORT_ROWS = "import_rows"
    SEATS = "seats"
    RESEND_CAP = "resend_cap"
    ACCESS_CODE_ATTEMPTS = "access_code_attempts"
    FIELD_LENGTH = "field_length"
    PAGE_SIZE = "page_size"
    RECIPIENT_BYTES = "recipient_bytes"
    RECIPIENT_ENTRIES = "recipient_entries"
    IMPORT_BYTES = "import_bytes"
    IMPORT_ENTRIES = "import_entries"
    IMPORT_UNPACKED_BYTES = "import_unpacked_bytes"
    IMPORT_RATIO = "import_ratio"
    OPEN_INVITATIONS_PER_INVITER = "open_invitations_per_inviter"
    LINK_USES = "link_uses"
    LINKS_PER_ORG = "links_per_org"


class ErrorFamily(_StrEnum):
    """The family of an error: what a caller can act on."""

    INVALID_INPUT = "invalid_input"
    LIMIT_EXCEEDED = "limit_exceeded"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    EXPIRED = "expired"
    REVOKED = "revoked"
    STORAGE = "storage"
    MAIL = "mail"


class Feature(_StrEnum):
    """A feature an organization's policy can switch off (the ``feature``
    of a ``disabled`` error)."""

    GUESTS = "guests"
    INVITE_LINK = "invite_link"
    SELF_REGISTRATION = "self_registration"


class RegistrationField(_StrEnum):
    """A registration field the policy requires (the ``missing`` of a
    ``registration_incomplete`` error)."""

    USER_REF = "user_ref"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    PHONE = "phone"
    EULA_VERSION = "eula_version"
    TWO_FACTOR = "two_factor"
    VERIFIED_EMAIL = "verified_email"


class EntityKind(_StrEnum):
    """The kind of thing that was not found (the ``entity`` of a
    ``not_found`` error)."""

    ORGANIZATION = "organization"
    MEMBER = "member"
    INVITATION = "invitation"
    GROUP = "group"
    GROUP_MEMBERSHIP = "group_membership"
    ROLE = "role"
    MESSAGE = "message"
    BATCH_REPORT = "batch_report"
    DOMAIN = "domain"
    MEMBERSHIP_REQUEST = "membership_request"
    INVITE_LINK = "invite_link"


class UniqueRule(_StrEnum):
    """A uniqueness rule a store enforces (the ``rule`` of a ``storage``
    error whose ``store_error`` is ``unique``)."""

    MEMBER_CONTACT_KEY = "member_contact_key"
    MEMBER_USER_REF = "member_user_ref"
    INVITATION_SECRET = "invitation_secret"
    INVITATION_OPEN_RECIPIENT = "invitation_open_recipient"
    OTHER = "other"
    ORGANIZATION_SLUG = "organization_slug"
    DOMAIN_VERIFIED = "domain_verified"
    MEMBERSHIP_REQUEST_ACCOUNT = "membership_request_account"


class ActorKind(_StrEnum):
    """Who performs a command."""

    SYSTEM = "system"
    MEMBER = "member"
    ACCOUNT = "account"
    ANONYMOUS = "anonymous"


class EntryOutcome(_StrEnum):
    """What became of one fragment of a paste."""

    VALID = "valid"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


class AddressWarning(_StrEnum):
    """Something suspicious about an address that is still valid."""

    INTERNATIONAL_DOMAIN = "international_domain"
    CONFUSABLE = "confusable"
    INTERNATIONAL_LOCAL_PART = "international_local_part"


class EventKind(_StrEnum):
    """What an audit event records."""

    ORGANIZATION_CREATED = "organization_created"
    ORGANIZATION_RENAMED = "organization_renamed"
    POLICY_CHANGED = "policy_changed"
    ROLE_DEFINED = "role_defined"
    ROLE_DELETED = "role_deleted"
    GROUP_CREATED = "group_created"
    GROUP_UPDATED = "group_updated"
    GROUP_DELETED = "group_deleted"
    GROUP_MEMBER_ADDED = "group_member_added"
    GROUP_ROLE_CHANGED = "group_role_changed"
    GROUP_MEMBER_REMOVED = "group_member_removed"
    INVITATION_STAGED = "invitation_staged"
    INVITATION_ISSUED = "invitation_issued"
    INVITATION_SENT = "invitation_sent"
    INVITATION_RESENT = "invitation_resent"
    INVITATION_ACCEPTED = "invitation_accepted"
    INVITATION_DECLINED = "invitation_declined"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_EXPIRED = "invitation_expired"
    ACCESS_CODE_REJECTED = "access_code_rejected"
    MEMBER_JOINED = "member_joined"
    MEMBER_UPDATED = "member_updated"
    MEMBER_STATUS_CHANGED = "member_status_changed"
    MEMBER_REMOVED = "member_removed"
    INVITE_LINK_ACTIVATED = "invite_link_activated"
    INVITE_LINK_DEACTIVATED = "invite_link_deactivated"
    EMAIL_SENT = "email_sent"
    EMAIL_FAILED = "email_failed"
    INVITATION_UPDATED = "invitation_updated"
    INVITATION_ACTIVE_CHANGED = "invitation_active_changed"
    ACCESS_CODE_REVEALED = "access_code_revealed"
    ORGANIZATION_SLUG_CHANGED = "organization_slug_changed"
    ORGANIZATION_DELETED = "organization_deleted"
    MEMBER_LEFT = "member_left"
    ROLE_CUSTOM_PERMISSIONS_SET = "role_custom_permissions_set"
    MEMBER_ADDED = "member_added"
    DOMAIN_CLAIMED = "domain_claimed"
    DOMAIN_VERIFIED = "domain_verified"
    DOMAIN_CODE_SENT = "domain_code_sent"
    DOMAIN_VERIFICATION_FAILED = "domain_verification_failed"
    DOMAIN_ENROLLMENT_CHANGED = "domain_enrollment_changed"
    DOMAIN_REMOVED = "domain_removed"
    MEMBERSHIP_REQUESTED = "membership_requested"
    MEMBERSHIP_REQUEST_APPROVED = "membership_request_approved"
    MEMBERSHIP_REQUEST_DECLINED = "membership_request_declined"
    LINK_CREATED = "link_created"
    LINK_REVOKED = "link_revoked"
    LINK_REGENERATED = "link_regenerated"
    LINK_URL_SHOWN = "link_url_shown"


class TlsMode(_StrEnum):
    """How ``SmtpMailer`` secures its connection."""

    IMPLICIT = "implicit"
    START_TLS = "start_tls"
    NONE = "none"


class BulkAction(_StrEnum):
    """What a bulk action does to each row of its selection. ``remove``,
    ``deactivate``, ``change_role`` and ``revoke`` need the confirmation
    number of ``Enlist.bulk_confirmation``."""

    REMOVE = "remove"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    CHANGE_ROLE = "change_role"
    RESEND = "resend"
    REVOKE = "revoke"


class BulkOutcome(_StrEnum):
    """What happened to one row of a bulk action."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    NOT_APPLIED = "not_applied"
class ReportKind(_StrEnum):
    """Which bulk command a ``BatchReport`` is about."""

    INVITE = "invite"
    SEND_STAGED = "send_staged"
    IMPORT = "import"
    BULK_ACTION = "bulk_action"


class RowOutcome(_StrEnum):
    """What happened to one row of a ``BatchReport`` (``rejected``,
    ``unreadable`` and ``not_processed`` rows make the Errors report)."""

    ISSUED = "issued"
    STAGED = "staged"
    SENT = "sent"
    DONE = "done"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"
    NOT_PROCESSED = "not_processed"


class DirectoryField(_StrEnum):
    """An attribute of an employee the directory assistant filters and sorts by."""

    NAME = "name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    JOB_TITLE = "job_title"
    DEPARTMENT = "department"
    EMPLOYMENT_STATUS = "employment_status"
    SUGGESTED_ROLE = "suggested_role"
    ROLE = "role"
    ID = "id"


class BulkRowStatus(_StrEnum):
    """What happened (or would happen) to one row of a bulk update."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"


class PersonLabel(_StrEnum):
    """The status label of a person in the people view."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    PENDING = "pending"
    EXPIRED = "expired"
    STAGED = "staged"
    REMOVED = "removed"


class PersonSource(_StrEnum):
    """Whether a person of the people view is a member or an invitation."""

    MEMBER = "member"
    INVITATION = "invitation"


class PeopleSort(_StrEnum):
    """What the people view is sorted by."""

    NAME = "name"
    EMAIL = "email"
    LABEL = "label"
    LAST_ACTIVE = "last_active"
    ROLE = "role"
    DATE = "date"


class DeleteMode(_StrEnum):
    """What ``Enlist.delete_organization`` does with what the organization
    holds: ``keep`` marks it deleted (read-only, listed nowhere; members,
    revoked invitations and the audit trail kept), ``purge`` removes every
    row of it from the store."""

    KEEP = "keep"
    PURGE = "purge"


class DomainStatus(_StrEnum):
    """Where an organization's claim on a domain stands."""

    PENDING = "pending"
    VERIFIED = "verified"


class DomainVerificationMethod(_StrEnum):
    """How a domain was proven: a DNS TXT record or a mailed code."""

    DNS_TXT = "dns_txt"
    EMAIL_CODE = "email_code"


class DomainEnrollment(_StrEnum):
    """What people with a verified email at a verified domain may do."""

    OFF = "off"
    AUTO_JOIN = "auto_join"
    REQUEST = "request"


class MembershipRequestStatus(_StrEnum):
    """Where a membership request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class LinkStatus(_StrEnum):
    """Where an invitation link stands."""

    ACTIVE = "active"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    REVOKED = "revoked"
