"""Who is acting on a backfill: the name given on the embedded default, the authenticated
warehouse session's user in prod (where a name given by hand is refused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.engines.warehouse import Connect

SESSION_USER_QUERY = "SELECT CURRENT_USER()"


class Identity(Protocol):
    def who(self, claimed: str | None) -> str:
        """The acting person, from what they claimed (`--by`, `--requested-by`)."""
        ...


class NamedIdentity:
    """The embedded default: one laptop, no accounts; people name themselves."""

    def who(self, claimed: str | None) -> str:
        name = " ".join((claimed or "").split())
        if not name:
            raise ManifestError("name who is acting (--by / --requested-by)")
        return name


@dataclass(frozen=True)
class SessionIdentity:
    """Production: the warehouse session's user (Snowflake `CURRENT_USER()`), never a name
    typed on the command line."""

    connect: Connect

    def who(self, claimed: str | None) -> str:
        if claimed is not None:
            raise ManifestError(
                "--by / --requested-by are refused here: who acts is the user the "
                "warehouse session authenticated"
            )
        with self.connect() as warehouse:
            [(user,)] = warehouse.fetchall(SESSION_USER_QUERY)
        if not user:
            raise ManifestError("the warehouse session has no user")
        return str(user)
