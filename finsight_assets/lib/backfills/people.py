"""People's names as the operations store compares them: one person however a name is typed.

A name is NFKC-normalised (full-width `Ａｎｎ` is `Ann`), its runs of spaces made one, and
compared case-insensitively. A name holding a format or control character (a zero-width space,
a bidi mark, a tab or newline: Unicode categories Cf and Cc) is refused: it would print as
someone else's name while comparing as a different person.
"""

from __future__ import annotations

import unicodedata

from finsight_assets.lib.backfills.manifests import ManifestError

INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})
# What a manifest's `extra` says of a requester nobody authenticated (a UI backfill's `user`
# tag); such a backfill needs one approver more (`identity.with_unauthenticated_requester`).
REQUESTER_UNAUTHENTICATED = "requester_unauthenticated"


def person_name(claimed: str) -> str:
    """The name as recorded: NFKC, spaces collapsed; refused if empty or holding a format or
    control character."""
    hidden = [ch for ch in claimed if unicodedata.category(ch) in INVISIBLE_CATEGORIES]
    if hidden:
        named = ", ".join(
            f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"
            for ch in dict.fromkeys(hidden)
        )
        raise ManifestError(
            f"the name {claimed!r} holds an invisible or control character ({named}): "
            "type the name plainly"
        )
    name = " ".join(unicodedata.normalize("NFKC", claimed).split())
    if not name:
        raise ManifestError("name who is acting (--by / --requested-by)")
    return name


def person_key(name: str) -> str:
    """Who a name is, for comparing people: `Ann`, ` ann `, `ANN` and `Ａｎｎ` are one person."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()
