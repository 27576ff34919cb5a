"""enlist: the "invite your team" capability as a library.

Organizations, groups, roles and permissions, invitations (by email, by
identifier with an access code, by shareable link), their limits,
lifecycle and audit trail. Start with ``Enlist.in_memory()``,
``Enlist.sqlite(path)`` or ``Enlist.postgres(url)``.
"""

# Every enum of the native wire-name table, every exception class of its
# error catalogue, and every class and function of the native module: each
# module lists its own names, so a new one needs no edit here.
from ._enums import *  # noqa: F403
from ._errors import *  # noqa: F403
from ._enlist import *  # noqa: F403
from ._enlist import __version__ as __version__
from ._links import ActivatedLink as ActivatedLink
from ._directory import DirectorySource as DirectorySource
from ._hooks import Hooks as Hooks
from . import _enlist, _enums, _errors

__all__ = sorted(
    {
        name
        for module in (_enums, _errors, _enlist)
        for name in module.__all__
        if not name.startswith("_")
    }
    | {"ActivatedLink", "DirectorySource", "Hooks", "__version__"}
)

# The rows of bulk results (`InviteReport.issued`, a page's `items`...) are
# a read-only sequence made on access: an `abc.Sequence` for isinstance.
import collections.abc as _abc

_abc.Sequence.register(_enlist.Rows)
