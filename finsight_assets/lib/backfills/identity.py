"""Who is acting on a backfill: the warehouse session's user where the engine authenticates
users (a name given by hand is then refused), else the name given (`people.person_name`).

A backfill launched from the UI has no such person: open-source Dagster authenticates no one,
so its `user` tag is text anyone can set. Its manifest records its requester as
unauthenticated, and it needs one approver more than the matrix asks
(`with_unauthenticated_requester`): whoever launched it may approve it, but never alone.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Protocol

from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.people import person_name
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.engines.warehouses import warehouse_flavour

# How many approvers more than the matrix a backfill of an unauthenticated requester needs.
UNAUTHENTICATED_EXTRA_APPROVERS = 1


def with_unauthenticated_requester(required: int, requester_authenticated: bool) -> int:
    """The approvals a backfill needs: the matrix's, one more where nobody knows who asked
    (then its launcher, whoever that was, cannot approve it alone). None stays none."""
    if required and not requester_authenticated:
        return required + UNAUTHENTICATED_EXTRA_APPROVERS
    return required


class Identity(Protocol):
    def who(self, claimed: str | None) -> str:
        """The acting person, from what they claimed (`--by`, `--requested-by`)."""
        ...

    def actor(self, claimed: str | None) -> str:
        """Who an operation records as its actor: the acting person where known, else what
        the deployment can say of who ran it."""
        ...


class NamedIdentity:
    """An engine without users (the embedded default: one laptop, no accounts); people name
    themselves."""

    def who(self, claimed: str | None) -> str:
        return person_name(claimed or "")

    def actor(self, claimed: str | None) -> str:
        """The name given, else the operating-system account running the command."""
        if claimed is not None:
            return self.who(claimed)
        try:
            account = getpass.getuser()
        except (OSError, KeyError):
            account = "unknown"
        return f"{account} (OS account; no --by given)"


@dataclass(frozen=True)
class SessionIdentity:
    """An engine that authenticates users (Snowflake in prod): the warehouse session's user,
    never a name typed on the command line."""

    connect: Connect

    def who(self, claimed: str | None) -> str:
        if claimed is not None:
            raise ManifestError(
                "--by / --requested-by are refused here: who acts is the user the "
                "warehouse session authenticated"
            )
        with self.connect() as warehouse:
            user = warehouse.session_user()
        if not user:
            raise ManifestError("the warehouse session has no user")
        return person_name(user)

    def actor(self, claimed: str | None) -> str:
        return self.who(claimed)


def identity_of(warehouse_kind: str, connect: Connect) -> Identity:
    """Who acts through `connect`, a connection to a `warehouse_kind` warehouse: its session's
    user where that engine authenticates users, else the name given."""
    if warehouse_flavour(warehouse_kind).authenticates_users:
        return SessionIdentity(connect)
    return NamedIdentity()
