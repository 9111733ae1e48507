"""Every route the URL conf has, with the demo's slugs and ids filled in.

The security walks (CSRF, CSP) take their routes from the resolver, so a route
added later is walked without editing them. An argument these helpers do not
know still gets a value of the right shape: the route is then still walked,
and a page test fails loudly if that value finds nothing.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

from toc.accounts.models import ApiToken, Membership
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.records import ROWS as KINDS
from toc.cycles.records import STEPS
from toc.cycles.views import EXPORTS
from toc.systems.models import Feature, IngestKey, System

# `<int:pk>`, `<pk>` and a regex's `(?P<pk>…)`.
ROUTE_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
REGEX_ARGUMENT = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    route: str  # as the URL conf spells it, prefixes included
    callback: object

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def arguments(self) -> list[str]:
        regex = [m.group(1) for m in REGEX_ARGUMENT.finditer(self.route)]
        rest = REGEX_ARGUMENT.sub("", self.route)
        return [m.group(2) for m in ROUTE_ARGUMENT.finditer(rest)] + regex

    def url(self, values: dict[str, str]) -> str:
        def route_value(match: re.Match) -> str:
            return values[match.group(2)]

        path = REGEX_ARGUMENT.sub(lambda m: values[m.group(1)], self.route)
        path = ROUTE_ARGUMENT.sub(route_value, path)
        return "/" + path.replace("^", "").replace("$", "")


def all_routes() -> list[Route]:
    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield Route(route, pattern.callback)

    return list(walk(get_resolver().url_patterns))


@dataclass
class DemoValues:
    """What fills a route's arguments: for each name, the values worth visiting."""

    team_slug: str
    system_slug: str
    enumerated: dict[str, list[str]]
    single: dict[str, str]
    rows: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, system: System, user) -> DemoValues:
        stage = system.stages.order_by("position").first()
        # The open cycle first: a walk that takes one filling takes a cycle
        # that can still be written to.
        cycles = sorted(
            Cycle.objects.filter(system=system),
            key=lambda c: (c.status == CycleStatus.CLOSED, c.number),
        )
        rows = {}
        for cycle in cycles:
            for key, kind in KINDS.items():
                found = kind.rows(cycle)
                if found:
                    rows[(str(cycle.number), key)] = str(found[0].pk)
        # The system's own list: its SLOs, under no cycle.
        slo = system.slos.first()
        if slo is not None:
            rows[("", "slos")] = str(slo.pk)
        key = IngestKey.objects.filter(system=system).first()
        token = ApiToken.objects.filter(user=user).first()
        membership = Membership.objects.filter(team=system.team, user=user).first()
        # A stage with features, so that a feature's routes find their row.
        feature = Feature.objects.filter(stage__system=system).first()
        if feature is not None:
            stage = feature.stage
        single = {
            "stage_slug": stage.slug,
            "stage": stage.slug,
            "member_id": str(membership.pk),
            "key_id": str(key.pk) if key else "1",
            "token_key": token.token_key if token else "x",
            # Django's admin: the user's own rows will do.
            "id": str(user.pk),
            "object_id": str(user.pk),
            "content_type_id": "1",
            "app_label": "accounts",
            "url": "nowhere/",
        }
        return cls(
            team_slug=system.team.slug,
            system_slug=system.slug,
            enumerated={
                "number": [str(c.number) for c in cycles],
                "step": list(STEPS),
                "key": list(KINDS),
                "fmt": list(EXPORTS),
            },
            single=single,
            rows=rows,
        )

    def fillings(self, route: Route) -> list[dict[str, str]]:
        """Every combination of the enumerated arguments (each cycle, step, list
        and export format) with the others filled in; rows that do not exist in
        a cycle are left out."""
        names = route.arguments
        choices = []
        for name in names:
            if name == "slug":
                in_teams = "teams/" in route.route
                choices.append([self.team_slug if in_teams else self.system_slug])
            elif name in self.enumerated:
                choices.append(self.enumerated[name])
            elif name == "pk":
                choices.append([None])  # filled below from the cycle and list
            elif name in self.single:
                choices.append([self.single[name]])
            else:
                choices.append([_shaped(route.route, name)])
        fillings = []
        for combination in itertools.product(*choices):
            values = dict(zip(names, combination, strict=True))
            if "pk" in values:
                kind = values.get("key") or _segment_before(route.route, "pk")
                row = self.rows.get((values.get("number", ""), kind))
                if row is None and "number" not in values:
                    row = next(
                        (pk for (_, key), pk in self.rows.items() if key == kind), None
                    )
                if row is None:
                    continue
                values["pk"] = row
            fillings.append(values)
        return fillings


def _segment_before(route: str, name: str) -> str:
    before = route.split(f":{name}>")[0]
    return before.rstrip("/").split("/")[-2] if "/" in before else ""


def _shaped(route: str, name: str) -> str:
    """A value of the right shape for an argument nobody has named here."""
    match = re.search(rf"<(\w+):{name}>", route)
    return "1" if match and match.group(1) == "int" else "unknown"
