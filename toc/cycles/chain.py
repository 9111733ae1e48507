"""Where a cycle stands: each link of the chain missing, draft or done, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from toc.analysis import RootCause, review_chain
from toc.analysis import Why as WhySpec
from toc.cycles.models import Cycle, Decision, PhaseStatus, Verdict
from toc.cycles.readings import goal_now

MISSING, DRAFT, DONE = "missing", "draft", "done"


@dataclass
class Step:
    key: str
    label: str
    state: str = MISSING
    todo: list[str] = field(default_factory=list)


def _state(done: bool, started: bool) -> str:
    return DONE if done else DRAFT if started else MISSING


def chain(cycle: Cycle) -> list[Step]:
    return [
        _goal(cycle),
        _problem(cycle),
        _conflict(cycle),
        _innovation(cycle),
        _experiment(cycle),
        _rollout(cycle),
        _outcome(cycle),
    ]


def unfinished(steps: list[Step]) -> list[Step]:
    """The steps of a chain that are not done, each with what it still needs:
    what closing the cycle would leave behind."""
    return [step for step in steps if step.state != DONE]


def _goal(cycle: Cycle) -> Step:
    step = Step("goal", "Goal & constraint")
    # Without the ledger: an SLO read off it counts as measured.
    slos = [row.latest for row in goal_now(cycle, ledger=None) if row.latest]
    with_target = [slo for slo in slos if slo.target is not None]
    if not with_target:
        step.todo.append("Set a target for at least one of the system's SLOs.")
    if with_target and all(
        slo.measured is None and not slo.live for slo in with_target
    ):
        step.todo.append("Measure the SLOs you set targets for.")
    if not cycle.constraint.stage:
        step.todo.append("Choose the constraint stage.")
    if not hasattr(cycle, "validation"):
        step.todo.append(
            "Record the validation experiment (extra capacity at the suspect)."
        )
    step.state = _state(not step.todo, bool(with_target or cycle.constraint.stage))
    return step


def _problem(cycle: Cycle) -> Step:
    step = Step("problem", "Problem")
    problem = cycle.problem
    whys = list(problem.whys.all())
    findings = review_chain(
        [WhySpec(w.answer, w.evidence, w.validated) for w in whys],
        RootCause(problem.root_cause) if problem.root_cause else None,
        problem.gap_share,
    )
    step.todo = [finding.message for finding in findings]
    if not problem.root_cause:
        step.todo.append("Name the root-cause category.")
    step.state = _state(not step.todo, bool(whys or problem.statement))
    return step


def _conflict(cycle: Cycle) -> Step:
    step = Step("conflict", "Conflict")
    conflict = cycle.conflict
    boxes = [conflict.objective, conflict.need_b, conflict.action_d]
    boxes += [conflict.need_c, conflict.action_e]
    if not all(box.strip() for box in boxes):
        step.todo.append("Fill the objective, both needs and both actions.")
    assumptions = list(conflict.assumptions.all())
    if not assumptions:
        step.todo.append("List the assumptions behind the arrows.")
    if any(a.verdict == Verdict.OPEN for a in assumptions):
        step.todo.append("Challenge every assumption.")
    if conflict.broken_assumption is None:
        step.todo.append("Choose the assumption to break.")
    step.state = _state(not step.todo, any(box.strip() for box in boxes))
    return step


def _innovation(cycle: Cycle) -> Step:
    step = Step("innovation", "Innovation")
    innovation = cycle.innovation
    if not innovation.patterns:
        step.todo.append("Pick the patterns the design uses.")
    if not (innovation.pros_kept_b.strip() and innovation.pros_kept_c.strip()):
        step.todo.append("Say which pros of each side the design keeps.")
    if not innovation.organizational_change.strip():
        step.todo.append("Name the organizational change that keeps the fix.")
    started = bool(innovation.patterns or innovation.summary.strip())
    step.state = _state(not step.todo, started)
    return step


def _experiment(cycle: Cycle) -> Step:
    step = Step("experiment", "Experiment")
    experiment = cycle.experiment
    if not experiment.hypothesis.strip():
        step.todo.append("State the hypothesis about the riskiest assumption.")
    criteria = list(experiment.criteria.all())
    if not criteria:
        step.todo.append("Set success criteria.")
    elif any(c.result is None for c in criteria):
        step.todo.append("Record a result for every criterion.")
    if experiment.decision == Decision.UNDECIDED:
        step.todo.append("Decide go, no-go or iterate.")
    step.state = _state(not step.todo, bool(experiment.hypothesis.strip() or criteria))
    return step


def _rollout(cycle: Cycle) -> Step:
    step = Step("rollout", "Rollout")
    phases = list(cycle.rollout.phases.all())
    open_phases = [p.name for p in phases if p.status != PhaseStatus.PASSED]
    if open_phases:
        step.todo.append(f"Pass the phases still open: {', '.join(open_phases)}.")
    started = any(p.status != PhaseStatus.PENDING for p in phases)
    step.state = _state(bool(phases) and not open_phases, started)
    return step


def _outcome(cycle: Cycle) -> Step:
    step = Step("outcome", "Outcome")
    outcome = cycle.outcome
    rows = list(outcome.rows.all())
    if not rows:
        step.todo.append("Enter the before/after numbers.")
    if not outcome.next_constraint:
        step.todo.append("Name where the constraint went next.")
    step.state = _state(not step.todo, bool(rows or outcome.next_constraint))
    return step
