from __future__ import annotations

import pytest

from toc.accounts.models import Membership, Role
from toc.cycles.services import cycle_open


@pytest.fixture
def cycle(personas):
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    return cycle_open(system=personas.system, title="Features saturate", user=owner)


BASE = "/systems/fraud/cycles/1"
