"""The benchmarks' interleaved medians: the actions take turns, and an action's own seconds
stand for its sample."""

from __future__ import annotations

from benchmarks.common import interleaved_medians


def test_actions_take_turns_and_an_action_may_give_its_own_seconds():
    calls = []
    own = iter([3.0, 1.0, 2.0])

    def ours():
        calls.append("ours")
        return next(own)

    def theirs():
        calls.append("theirs")

    measured = interleaved_medians({"ours": ours, "theirs": theirs}, 3)
    assert calls == ["ours", "theirs"] * 3
    assert measured["ours"] == (2.0, [3.0, 1.0, 2.0])
    median, samples = measured["theirs"]
    assert len(samples) == 3 and all(0 <= s < 1 for s in samples) and median in samples
