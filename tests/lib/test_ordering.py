from __future__ import annotations

import pytest

from toc.accounts.models import Membership, Role
from toc.cycles.models import RolloutPhase
from toc.cycles.services import cycle_open
from toc.lib import ordering


@pytest.fixture
def phases(personas):
    """A rollout's phases: (rollout, position) is unique in the database."""
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    rollout = cycle_open(system=personas.system, title="Roll", user=owner).rollout
    return RolloutPhase.objects.filter(rollout=rollout)


@pytest.mark.parametrize("removed", [0, 2])
def test_closing_the_gap_after_a_delete_renumbers_without_collisions(phases, removed):
    """With one row gone the rest still hold the highest number, which a first
    pass starting at the row count would collide with."""
    names = list(phases.order_by("position").values_list("name", flat=True))
    phases.get(position=removed).delete()
    ordering.close_gaps(phases)
    left = [name for position, name in enumerate(names) if position != removed]
    assert list(phases.order_by("position").values_list("name", "position")) == [
        (name, position) for position, name in enumerate(left)
    ]


def test_moving_the_last_row_to_the_top(phases):
    names = list(phases.order_by("position").values_list("name", flat=True))
    ordering.move(phases, phases.get(position=len(names) - 1).pk, -len(names))
    assert list(phases.order_by("position").values_list("name", flat=True)) == [
        names[-1],
        *names[:-1],
    ]
