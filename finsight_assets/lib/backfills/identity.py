"""Who is acting on a backfill: the warehouse session's user where the engine authenticates
users (a name given by hand is then refused), else the name given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.engines.warehouses import warehouse_flavour


class Identity(Protocol):
    def who(self, claimed: str | None) -> str:
        """The acting person, from what they claimed (`--by`, `--requested-by`)."""
        ...


class NamedIdentity:
    """An engine without users (the embedded default: one laptop, no accounts); people name
    themselves."""

    def who(self, claimed: str | None) -> str:
        name = " ".join((claimed or "").split())
        if not name:
            raise ManifestError("name who is acting (--by / --requested-by)")
        return name


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
        return user


def identity_of(warehouse_kind: str, connect: Connect) -> Identity:
    """Who acts through `connect`, a connection to a `warehouse_kind` warehouse: its session's
    user where that engine authenticates users, else the name given."""
    if warehouse_flavour(warehouse_kind).authenticates_users:
        return SessionIdentity(connect)
    return NamedIdentity()
