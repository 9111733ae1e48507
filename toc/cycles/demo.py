"""Two demo cycles: the method article's worked example, finished, and its sequel
in progress. The figures are the article's; the words are ours."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from toc.analysis import LedgerRow
from toc.cycles.models import (
    Assumption,
    Criterion,
    Cycle,
    CycleStatus,
    Decision,
    Feature,
    OutcomeRow,
    PhaseStatus,
    RolloutPhase,
    Slo,
    Tier,
    ValidationExperiment,
    Why,
)
from toc.cycles.services import cycle_open
from toc.metrics.ledger import ledger_payload
from toc.systems.models import System

# The ledger the article measured: (slug, capacity, utilization, p95 ms, queue, mode).
ARTICLE_LEDGER = [
    ("ingest", 100_000, 0.60, 2, 0, "burst loss"),
    ("feature-tier1", 100_000, 0.65, 5, 0, "cache miss"),
    ("feature-tier2", 30_000, 0.95, 50, 1_200, "window skew"),
    ("feature-tier3", 10_000, 0.20, 200, 0, "cold start"),
    ("inference", 50_000, 0.40, 10, 0, "batch sizing"),
    ("alerting", 1_000, 0.10, 100, 0, "dedup thrash"),
]


def _article_snapshot(system: System) -> dict:
    stages = list(system.stages.all())
    by_slug = {stage.slug: stage for stage in stages}
    rows = [
        LedgerRow(
            stage=by_slug[slug].name,
            samples=30,
            capacity=capacity,
            load=capacity * utilization,
            utilization=utilization,
            latency_p95_ms=p95,
            queue_depth=queue,
            queue_trend=4.0 if queue else 0.0,
            failure_mode=mode,
        )
        for slug, capacity, utilization, p95, queue, mode in ARTICLE_LEDGER
    ]
    return {"computed_at": None, **ledger_payload(stages, rows, None)}


def demo_cycles(system: System, user) -> None:
    if system.cycles.exists():
        return
    _finished_cycle(system, user)
    _cycle_in_progress(system, user)


def _set_slos(
    cycle: Cycle, values: dict[str, tuple[float | None, float | None]]
) -> None:
    for slo in cycle.slos.all():
        if slo.dimension in values:
            slo.target, slo.measured = values[slo.dimension]
            slo.save(update_fields=["target", "measured"])


def _finished_cycle(system: System, user) -> None:
    cycle = cycle_open(system=system, title="Feature-Tier2 cannot keep up", user=user)
    _set_slos(
        cycle,
        {
            "time_to_decision": (5, 47),
            "decision_budget": (10, 847),
            "outcome_weighted": (90, None),
            "coverage": (95, 30),
        },
    )
    snapshot = _article_snapshot(system)
    choice = cycle.constraint
    choice.stage, choice.stage_name = "feature-tier2", "Feature-Tier2"
    choice.detected_stage = "feature-tier2"
    choice.reason = snapshot["constraint"]["reason"]
    choice.ledger_snapshot = snapshot
    choice.save()
    now = timezone.now().replace(second=0, microsecond=0)
    ValidationExperiment.objects.create(
        cycle=cycle,
        stage="feature-tier2",
        capacity_factor=3,
        started=now - timedelta(days=60),
        ended=now - timedelta(days=59),
        notes="3× compute for a day (90K records/s): detection time fell, false "
        "positives fell, and the SLOs came within reach.",
    )

    problem = cycle.problem
    problem.statement = (
        "Feature-Tier2 spends most of its compute on features that barely "
        "influence decisions, so 70% of the traffic is never fully analysed."
    )
    problem.root_cause = "organizational"
    problem.gap_share = 0.7
    problem.save()
    whys = [
        (
            "It computes 47 features for every record.",
            "Profiling: 89% of its time goes to 12% of the features.",
        ),
        (
            "The features were designed for offline research, where compute was free.",
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
            "Org chart and on-call rota: each team owns a part, no one the whole.",
        ),
    ]
    # The bulk helpers of simple-history, so that the audit trail has these rows.
    bulk_create_with_history(
        [
            Why(problem=problem, position=n, answer=a, evidence=e, validated=True)
            for n, (a, e) in enumerate(whys)
        ],
        Why,
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

    conflict = cycle.conflict
    conflict.objective = "Catch attacks accurately and in time"
    conflict.need_b = "Rich feature analysis, to detect sophisticated attacks"
    conflict.action_d = "Compute every feature for every record"
    conflict.need_c = "Efficient processing, for real-time response and cost"
    conflict.action_e = "Compute only a few cheap features per record"
    conflict.oscillation = "overreacting"
    conflict.oscillation_note = (
        "Features were added after every missed attack and removed after every "
        "slowdown; two years later the team was back where it started."
    )
    conflict.save()
    assumptions = [
        (
            "b_d",
            "Every record needs the same depth of analysis.",
            "does_not_hold",
            "Routine DNS lookups do not need the scrutiny a connection to an unknown "
            "address does.",
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
    created = [
        Assumption.objects.create(
            conflict=conflict, arrow=arrow, text=text, verdict=verdict, reasoning=why
        )
        for arrow, text, verdict, why in assumptions
    ]
    conflict.broken_assumption = created[0]
    conflict.save(update_fields=["broken_assumption"])

    innovation = cycle.innovation
    innovation.summary = (
        "Progressive analysis: a cheap triage on all traffic, deeper tiers only for "
        "what stays uncertain, alerts first and context after."
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
        "The ML and platform teams share the SLOs; a new feature needs a cost-benefit "
        "approval from both."
    )
    innovation.save()
    for n, (name, features, model, seen, exits, latency) in enumerate(
        [
            ("Tier-1 triage", "5 cheap features", "Logistic regression", 1.0, 0.68, 3),
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
    experiment.riskiest_assumption = (
        "Tier-1 tells benign traffic apart with five cheap features, missing no attack."
    )
    experiment.hypothesis = (
        "A logistic regression on five cheap features exits most benign traffic at "
        "Tier-1 with no false negatives."
    )
    experiment.results = (
        "68% triaged as benign, no attack missed, 95K records/s, p95 3 ms."
    )
    experiment.learnings = (
        "Calibration: more examples of unusual but legitimate ports raised triage "
        "to 71%. Idle stages lending compute smoothed load shifts. Dropping 15 "
        "Tier-3 features that never changed a decision added 30% throughput."
    )
    experiment.decision = Decision.GO
    experiment.decided_by = user
    experiment.decided_at = now - timedelta(days=45)
    experiment.save()
    for metric, comparator, threshold, result in [
        ("Traffic triaged at Tier-1 (%)", ">=", 60, 68),
        ("False negative rate (%)", "==", 0, 0),
        ("Throughput (records/s)", ">=", 90_000, 95_000),
        ("p95 latency (ms)", "<=", 5, 3),
    ]:
        Criterion.objects.create(
            experiment=experiment,
            metric=metric,
            comparator=comparator,
            threshold=threshold,
            result=result,
        )
    phases = list(cycle.rollout.phases.all())
    for phase in phases:
        phase.status = PhaseStatus.PASSED
    bulk_update_with_history(phases, RolloutPhase, ["status"])

    outcome = cycle.outcome
    outcome.next_constraint = "alerting"
    outcome.notes = (
        "Investigation by SOC analysts now limits how many alerts are worked."
    )
    outcome.save()
    for metric, before, after, unit, lower in [
        ("Detection time (p95)", 47, 3.2, "min", True),
        ("Analyst alerts per day", 847, 11, "", True),
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
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now - timedelta(days=20)
    cycle.save(update_fields=["status", "closed_at"])
    # The story began before its validation experiment. Only the opening date
    # moves: the records are written today, so the audit trail truthfully starts
    # today and an earlier as-of view says that no history reaches back so far.
    Cycle.objects.filter(pk=cycle.pk).update(created=now - timedelta(days=75))


def _cycle_in_progress(system: System, user) -> None:
    cycle = cycle_open(
        system=system, title="Alert investigation takes too long", user=user
    )
    Slo.objects.create(
        cycle=cycle,
        dimension="custom",
        name="Investigation time per Tier-3 alert",
        comparator="<=",
        target=15,
        unit="min",
        measured=45,
        position=5,
    )
    choice = cycle.constraint
    choice.stage, choice.stage_name = "alerting", "Alerting"
    choice.reason = (
        "Analysts average 45 minutes per Tier-3 alert, which caps how many "
        "sophisticated attacks get investigated."
    )
    choice.save()
    Why.objects.create(
        problem=cycle.problem,
        position=0,
        answer="Analysts correlate by hand across several tools and data sources.",
        evidence="Screen recordings of 20 investigations.",
        validated=True,
    )
    conflict = cycle.conflict
    conflict.objective = "Investigate every sophisticated attack well and quickly"
    conflict.need_b = "Automated enrichment, for speed"
    conflict.need_c = "Human judgment, for decision quality"
    conflict.save()
