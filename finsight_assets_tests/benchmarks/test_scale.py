"""SCALE.md's sizing of a silver backfill: within the deadline, by whichever binds first."""

from __future__ import annotations

import pytest

from benchmarks.scale import DEADLINE_HOURS, silver_on_emr


@pytest.mark.parametrize("days", [1, 45, 180])
@pytest.mark.parametrize("rate", [500.0, 40_000.0])
def test_a_silver_backfill_is_sized_to_finish_within_the_deadline(days, rate):
    size = silver_on_emr(days, rate)
    assert size.wall_hours <= DEADLINE_HOURS
    # One vCPU fewer would miss it (the size is the smallest that makes it).
    if size.vcpus > 1:
        fewer = size.vcpus - 1
        assert max(size.vcpu_hours, size.read_vcpu_hours) / fewer > DEADLINE_HOURS


def test_a_slow_silver_is_sized_by_its_compute_and_a_fast_one_by_its_s3_reads():
    slow, fast = silver_on_emr(45, 500.0), silver_on_emr(45, 40_000.0)
    assert (slow.sized_by, fast.sized_by) == ("compute", "S3 reads")
    assert slow.vcpus > fast.vcpus
    # Workers waiting on S3 are billed too: the same price per held vCPU-hour, more hours held
    # than computed.
    per_held_hour = [s.cost_usd / (s.vcpus * s.wall_hours) for s in (slow, fast)]
    assert per_held_hour[0] == pytest.approx(per_held_hour[1])
    assert fast.vcpus * fast.wall_hours > fast.vcpu_hours
