"""Two demo cycles: the method article's worked example, finished, and its sequel
in progress, written as the story's days went by (toc.demo.simulation has the
story). The records, their audit trail and the ledgers the cycles chose from
carry the story's dates, so a retrospective as of a day in cycle 1 shows cycle 1
as it stood that day. The figures agree with the demo's metrics; the words are
ours."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from toc.cycles.models import (
    Assumption,
    Criterion,
    Cycle,
    Decision,
    OutcomeRow,
    PhaseStatus,
    RetrospectiveNotes,
    StepPlan,
    Tier,
    ValidationExperiment,
    Why,
)
from toc.cycles.services import cycle_open, slo_record
from toc.demo.clock import Story
from toc.demo.simulation import (
    STORY_CYCLE_1_CLOSED,
    STORY_CYCLE_1_OPENED,
    STORY_CYCLE_2_OPENED,
    STORY_DECIDED,
    STORY_ROLLOUT,
    STORY_ROLLOUT_DONE,
    STORY_VALIDATION,
    VALIDATION_FACTOR,
)
from toc.systems.models import Feature, Slo, System
from toc.systems.services import STANDARD_SLOS


def demo_cycles(system: System, user, start: datetime) -> None:
    """The demo's cycles, on the story that began at ``start``; nothing if the
    system has cycles already."""
    if system.cycles.exists():
        return
    story = Story(system, user, start)
    _finished_cycle(story)
    _cycle_in_progress(story)


def _set_slos(system: System, values: dict[str, tuple[float | None, float | None]]):
    """Sets the (target, measured) of the system's SLOs by dimension."""
    for slo in system.slos.all():
        if slo.dimension in values:
            slo.target, slo.measured = values[slo.dimension]
            slo.save(update_fields=["target", "measured"])


def _set_goal(story: Story, day: float) -> None:
    """The article's goal, set before the first cycle: detection within 5
    minutes, at most 10 actionable alerts a day, 90% recall, 95% coverage."""
    with story.on(day):
        for position, (dimension, name, comparator, unit) in enumerate(STANDARD_SLOS):
            Slo.objects.get_or_create(
                system=story.system,
                dimension=dimension,
                defaults={
                    "name": name,
                    "comparator": comparator,
                    "unit": unit,
                    "position": position,
                },
            )
        _set_slos(
            story.system,
            {
                "time_to_decision": (5, 47),
                "decision_budget": (10, 21),
                "outcome_weighted": (90, None),
                "coverage": (95, 30),
            },
        )


def _open(story: Story, day: float, title: str, stage: str) -> Cycle:
    """Opens a cycle on ``day`` with ``stage`` chosen from that day's ledger.

    cycle_open reads the ledger of today; the story's cycle read the one of its
    day, so the choice is written as first made (its created history row too).
    """
    with story.on(day):
        cycle = cycle_open(system=story.system, title=title, user=story.user)
        snapshot = story.ledger(day)
        found = snapshot["constraint"] if snapshot else None
        choice = cycle.constraint
        choice.stage = stage
        choice.stage_name = story.system.stages.get(slug=stage).name
        choice.detected_stage = found["stage"] if found else ""
        choice.reason = found["reason"] if found and found["stage"] == stage else ""
        choice.ledger_snapshot = snapshot
        fields = ["stage", "stage_name", "detected_stage", "reason", "ledger_snapshot"]
        values = {name: getattr(choice, name) for name in fields}
        type(choice).objects.filter(pk=choice.pk).update(**values)
        choice.history.filter(history_type="+").update(**values)
    return cycle


def _finished_cycle(story: Story) -> None:
    system, user = story.system, story.user
    opened = STORY_CYCLE_1_OPENED
    _set_goal(story, opened - 1 / 24)
    cycle = _open(story, opened, "Feature-Tier2 cannot keep up", "feature-tier2")

    began, ended = STORY_VALIDATION
    with story.on(ended + 1 / 24):
        ValidationExperiment.objects.create(
            cycle=cycle,
            stage="feature-tier2",
            capacity_factor=VALIDATION_FACTOR,
            started=story.at(began),
            ended=story.at(ended),
            notes="3× compute for a day: Tier-2 analysed 90% of the flows instead "
            "of 30%, detection time and false positives fell, and three times the "
            "alerts reached the analysts, who were the limit by the evening.",
        )

    with story.on(ended + 1):
        problem = cycle.problem
        problem.statement = (
            "Feature-Tier2 spends most of its compute on features that barely "
            "influence decisions, so 70% of the traffic is never fully analysed."
        )
        problem.root_cause = "organizational"
        problem.gap_share = 0.7
        problem.save()
        for n, (answer, evidence) in enumerate(
            [
                (
                    "It computes 47 features for every record.",
                    "Profiling: 89% of its time goes to 12% of the features.",
                ),
                (
                    "The features were designed for offline research, where "
                    "compute was free.",
                    "31 features contribute less than 0.1% to decisions.",
                ),
                (
                    "Nobody put production limits on the design.",
                    "Git history: features were added, none were ever removed.",
                ),
                (
                    "Model development is cut off from deployment.",
                    "Interviews: the ML and platform teams share no requirements.",
                ),
                (
                    "No one owns the performance of the system end to end.",
                    "Org chart and on-call rota: each team owns a part, no one "
                    "the whole.",
                ),
            ]
        ):
            Why.objects.create(
                problem=problem,
                position=n,
                answer=answer,
                evidence=evidence,
                validated=True,
            )
        tier2 = system.stages.get(slug="feature-tier2")
        for name, importance, cost in [
            ("host_connection_rate_1m", 0.21, 4.0),
            ("dst_port_entropy_5m", 0.17, 6.5),
            ("bytes_ratio_1h", 0.12, 9.0),
            ("session_duration_z", 0.09, 3.0),
            ("tls_ja3_rarity_7d", 0.0008, 14.0),
            ("geo_velocity_24h", 0.0005, 11.0),
        ]:
            Feature.objects.get_or_create(
                stage=tier2,
                name=name,
                defaults={"importance": importance, "compute_cost": cost},
            )

    with story.on(ended + 2):
        conflict = cycle.conflict
        conflict.objective = "Catch attacks accurately and in time"
        conflict.need_b = "Rich feature analysis, to detect sophisticated attacks"
        conflict.action_d = "Compute every feature for every record"
        conflict.need_c = "Efficient processing, for real-time response and cost"
        conflict.action_e = "Compute only a few cheap features per record"
        conflict.oscillation = "overreacting"
        conflict.oscillation_note = (
            "Features were added after every missed attack and removed after "
            "every slowdown; two years later the team was back where it started."
        )
        conflict.save()
        created = [
            Assumption.objects.create(
                conflict=conflict,
                arrow=arrow,
                text=text,
                verdict=verdict,
                reasoning=why,
            )
            for arrow, text, verdict, why in [
                (
                    "b_d",
                    "Every record needs the same depth of analysis.",
                    "does_not_hold",
                    "Routine DNS lookups do not need the scrutiny a connection to "
                    "an unknown address does.",
                ),
                (
                    "b_d",
                    "Features have to be computed before the decision.",
                    "partly",
                    "Comparisons with history can be added after the first alert.",
                ),
                (
                    "c_e",
                    "One model has to make every decision.",
                    "does_not_hold",
                    "Different attack types can go to specialised models.",
                ),
            ]
        ]
        conflict.broken_assumption = created[0]
        conflict.save(update_fields=["broken_assumption"])

    with story.on(ended + 3):
        innovation = cycle.innovation
        innovation.summary = (
            "Progressive analysis: a cheap triage on all traffic, deeper tiers "
            "only for what stays uncertain, alerts first and context after."
        )
        innovation.patterns = [
            "cascade",
            "confidence_routing",
            "async_enrichment",
            "feature_caching",
        ]
        innovation.pros_kept_b = "Suspicious traffic still gets every feature."
        innovation.pros_kept_c = (
            "Most traffic leaves after 3 ms; the tiers share cached features."
        )
        innovation.residual_cons = (
            "Four tiers to run and their confidence thresholds to calibrate."
        )
        innovation.organizational_change = (
            "The ML and platform teams share the SLOs; a new feature needs a "
            "cost-benefit approval from both."
        )
        innovation.save()
        for n, (name, features, model, seen, exits, latency) in enumerate(
            [
                (
                    "Tier-1 triage",
                    "5 cheap features",
                    "Logistic regression",
                    1.0,
                    0.68,
                    3,
                ),
                ("Tier-2 fast analysis", "25 features", "Moderate", 0.32, 0.875, 15),
                ("Tier-3 deep analysis", "100 features", "Complex", 0.04, 0.75, 100),
                ("Forensic", "All features", "Exhaustive", 0.01, 1.0, 500),
            ]
        ):
            Tier.objects.create(
                innovation=innovation,
                position=n,
                name=name,
                features=features,
                model=model,
                traffic_share=seen,
                exit_share=exits,
                latency_ms=latency,
            )

    experiment = cycle.experiment
    criteria = [
        ("Traffic triaged at Tier-1 (%)", ">=", 60, 68),
        ("False negative rate (%)", "==", 0, 0),
        ("Throughput (records/s)", ">=", 90_000, 95_000),
        ("p95 latency (ms)", "<=", 5, 3),
    ]
    with story.on(ended + 3 + 2 / 24):
        experiment.riskiest_assumption = (
            "Tier-1 tells benign traffic apart with five cheap features, missing "
            "no attack."
        )
        experiment.hypothesis = (
            "A logistic regression on five cheap features exits most benign "
            "traffic at Tier-1 with no false negatives."
        )
        experiment.save()
        written = [
            Criterion.objects.create(
                experiment=experiment,
                metric=metric,
                comparator=comparator,
                threshold=threshold,
            )
            for metric, comparator, threshold, _ in criteria
        ]
    with story.on(STORY_DECIDED) as decided:
        for criterion, (*_, result) in zip(written, criteria, strict=True):
            criterion.result = result
            criterion.save(update_fields=["result"])
        experiment.results = (
            "68% triaged as benign, no attack missed, 95K records/s, p95 3 ms."
        )
        experiment.learnings = (
            "Calibration: more examples of unusual but legitimate ports raised "
            "triage to 71%. Idle stages lending compute smoothed load shifts. "
            "Dropping 15 Tier-3 features that never changed a decision added 30% "
            "throughput."
        )
        experiment.decision = Decision.GO
        experiment.decided_by = user
        experiment.decided_at = decided
        experiment.save()

    # Each phase runs from its day until the next one starts, then passes.
    phases = {phase.name: phase for phase in cycle.rollout.phases.all()}
    running = None
    for name, day, *_ in STORY_ROLLOUT:
        with story.on(day):
            if running is not None:
                running.status = PhaseStatus.PASSED
                running.save(update_fields=["status"])
            running = phases[name]
            running.status = PhaseStatus.RUNNING
            running.save(update_fields=["status"])
    assert running is not None, "STORY_ROLLOUT has phases"
    with story.on(STORY_ROLLOUT_DONE):
        running.status = PhaseStatus.PASSED
        running.save(update_fields=["status"])

    with story.on(STORY_ROLLOUT_DONE + 2 / 24):
        outcome = cycle.outcome
        outcome.next_constraint = "triage"
        outcome.notes = (
            "The cascade analyses 98% of the flows instead of 30%, and Feature-Tier2 "
            "runs at 42%. Three times the alerts now reach the analysts, more than "
            "the two on duty can investigate: their queue grows, and Triage is the "
            "constraint."
        )
        outcome.save()
        # Before: the week before the rollout; after: its week at 100%. The
        # analysts' figure is what they got through; at 64 a day they are full.
        for metric, before, after, unit, lower in [
            ("Detection time (p95)", 47, 3.2, "min", True),
            ("Alerts investigated per day", 21, 64, "", False),
            ("Incidents missed per month", 23, 0, "", True),
            ("Traffic coverage", 30, 98, "%", False),
            ("Feature-Tier2 utilization", 95, 42, "%", True),
        ]:
            OutcomeRow.objects.create(
                outcome=outcome,
                metric=metric,
                before=before,
                after=after,
                unit=unit,
                lower_is_better=lower,
            )
        # The goal measured again after the rollout: detection is fast now, and
        # the analysts get more alerts than the budget, which Triage has to fix.
        _set_slos(
            system,
            {
                "time_to_decision": (5, 3.2),
                "decision_budget": (10, 64),
                "coverage": (95, 98),
            },
        )
    with story.on(STORY_CYCLE_1_CLOSED) as closed:
        ledger = partial(story.ledger, STORY_CYCLE_1_CLOSED)
        cycle.close(at=closed, slos=slo_record(system, ledger))
    # The retrospective meeting, the morning after, before cycle 2 opens.
    with story.on(STORY_CYCLE_1_CLOSED + 0.75):
        RetrospectiveNotes.objects.create(
            cycle=cycle,
            went_well="The validation experiment settled in a day which stage held "
            "us back, before anyone argued for a fix.",
            to_change="We watched the analysts' queue only once the rollout was "
            "done; the next stage's queue needs watching from the first phase.",
            actions="Alert on the analysts' queue depth\n"
            "Review the tier thresholds every month\n"
            "Share the SLOs with the analysts' lead",
        )


def _cycle_in_progress(story: Story) -> None:
    opened = STORY_CYCLE_2_OPENED
    cycle = _open(story, opened, "Alert investigation takes too long", "triage")
    with story.on(opened + 1 / 24):
        Slo.objects.create(
            system=story.system,
            dimension="custom",
            name="Investigation time per Tier-3 alert",
            comparator="<=",
            target=15,
            unit="min",
            measured=45,
            position=5,
        )
    with story.on(opened + 1):
        Why.objects.create(
            problem=cycle.problem,
            position=0,
            answer="Analysts correlate by hand across several tools and data sources.",
            evidence="Screen recordings of 20 investigations.",
            validated=True,
        )
    with story.on(opened + 2):
        conflict = cycle.conflict
        conflict.objective = "Investigate every sophisticated attack well and quickly"
        conflict.need_b = "Automated enrichment, for speed"
        conflict.need_c = "Human judgment, for decision quality"
        conflict.save()
        # The conflict is the team lead's to resolve within the week.
        StepPlan.objects.create(
            cycle=cycle,
            step="conflict",
            owner=story.user,
            due=story.at(opened + 9).date(),
        )
