from __future__ import annotations

from toc.charts.ledger import (
    SIDE_BY_SIDE_PX,
    STACKED_LABEL_ROOM,
    headroom_bars,
    pipeline_flow,
)
from toc.charts.theme import DANGER, OK, WARN

from .payloads import ledger, stage_row


def _pipeline():
    return ledger(
        stage_row("Ingest", 0.4),
        stage_row("Features", 0.97),
        stage_row("Inference", 0.75),
        constraint="features",
        reason="Features is the busiest stage and its queue grows.",
    )


def test_flow_draws_one_box_per_stage_in_pipeline_order(valid):
    figure = valid(pipeline_flow(_pipeline()))
    outlines = [s for s in figure["layout"]["shapes"] if "fillcolor" not in s]
    assert [s["x0"] for s in outlines] == [0, 1, 2]
    labels = [a["text"] for a in figure["layout"]["annotations"] if a["text"]]
    assert labels[:2] == ["Ingest", "400 / 1k rec/s<br>40% busy · 2.50×"]


def test_flow_colours_stages_by_utilization():
    fills = [
        s["fillcolor"]
        for s in pipeline_flow(_pipeline())["layout"]["shapes"]
        if "fillcolor" in s
    ]
    assert fills == [OK, DANGER, WARN]


def test_flow_outlines_and_labels_the_constraint_with_its_reason_on_hover():
    figure = pipeline_flow(_pipeline())
    outlines = [s for s in figure["layout"]["shapes"] if "fillcolor" not in s]
    assert [s["line"]["width"] for s in outlines] == [1.5, 4, 1.5]
    assert outlines[1]["line"]["color"] == DANGER
    marks = [a for a in figure["layout"]["annotations"] if "CONSTRAINT" in a["text"]]
    assert [m["x"] for m in marks] == [1.4]
    hover = figure["data"][0]["hovertext"]
    assert "queue grows" in hover[1]
    assert "queue grows" not in hover[0]


def test_flow_and_headroom_mark_the_held_constraint_the_card_names():
    # The window's verdict is Features; Inference still holds the constraint.
    figure = pipeline_flow(_pipeline(), constraint="inference")
    outlines = [s for s in figure["layout"]["shapes"] if "fillcolor" not in s]
    assert [s["line"]["width"] for s in outlines] == [1.5, 1.5, 4]
    # The verdict's reason is about Features, so it is shown on neither box.
    assert not any("queue grows" in h for h in figure["data"][0]["hovertext"])
    bars = headroom_bars(_pipeline(), constraint="inference")["data"][0]
    marked = [
        label
        for label, width in zip(bars["y"], bars["marker"]["line"]["width"], strict=True)
        if width
    ]
    assert marked == ["Inference"]


def test_a_stage_of_people_is_labelled_per_hour():
    triage = stage_row("Triage", 1.0, kind="human", capacity=2.66 / 3600)
    triage["load"] = triage["capacity"]
    figure = pipeline_flow(ledger(stage_row("Alerting", 0.1), triage))
    labels = [a["text"] for a in figure["layout"]["annotations"] if a["text"]]
    assert "2.66 / 2.66 per h<br>100% busy · 1.00×" in labels
    assert "rec/s" in labels[1]


def test_flow_joins_neighbours_with_arrows():
    arrows = [
        a
        for a in pipeline_flow(_pipeline())["layout"]["annotations"]
        if a.get("showarrow")
    ]
    assert [(a["ax"], a["x"]) for a in arrows] == [(0.8, 1), (1.8, 2)]


def test_flow_shows_a_silent_stage_as_dotted_without_numbers(valid):
    figure = valid(
        pipeline_flow(ledger(stage_row("Ingest", 0.5), stage_row("Alerts", None)))
    )
    outlines = [s for s in figure["layout"]["shapes"] if "fillcolor" not in s]
    assert outlines[1]["line"]["dash"] == "dot"
    assert "no samples" in [a["text"] for a in figure["layout"]["annotations"]]


def test_flow_escapes_stage_names_that_look_like_markup():
    name = '<a href="javascript:alert(1)">x</a>'
    figure = pipeline_flow(ledger(stage_row(name, 0.5)))
    drawn = (
        figure["layout"]["annotations"][0]["text"] + figure["data"][0]["hovertext"][0]
    )
    assert "<a " not in drawn
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;" in drawn


def test_headroom_bars_put_the_least_headroom_first_and_skip_stages_without_any(valid):
    figure = valid(
        headroom_bars(
            ledger(
                stage_row("Ingest", 0.4),
                stage_row("Features", 0.97),
                stage_row("Idle", 0.0),
                stage_row("Alerts", None),
                constraint="features",
            )
        )
    )
    bars = figure["data"][0]
    assert bars["y"] == ["Features", "Ingest"]
    assert bars["x"] == [1 / 0.97, 1 / 0.4]
    assert bars["marker"]["line"]["width"] == [3, 0]
    assert bars["text"][0].endswith("constraint")


def test_headroom_bars_draw_the_saturation_threshold():
    figure = headroom_bars(ledger(stage_row("Ingest", 0.4)))
    (line,) = figure["layout"]["shapes"]
    assert line["x0"] == line["x1"] == 1 / 0.85
    assert "saturated below 1.18×" in figure["layout"]["annotations"][0]["text"]


def test_a_long_stage_name_is_shortened_in_its_box_and_whole_on_hover():
    name = "Feature enrichment with graph lookups"
    figure = pipeline_flow(ledger(stage_row(name, 0.5)))
    label = figure["layout"]["annotations"][0]["text"]
    assert label == "Feature enrichmen…"
    assert figure["data"][0]["hovertext"][0].startswith(name)


def test_a_narrow_chart_stacks_the_stages_top_to_bottom(valid):
    flow = pipeline_flow(
        _pipeline(), urls={"ingest": "/i/", "features": "/f/", "inference": "/n/"}
    )
    narrow = valid(flow["narrow"])
    # charts.js draws it where three boxes side by side would squeeze labels.
    assert narrow["below_px"] == 3 * SIDE_BY_SIDE_PX
    outlines = [s for s in narrow["layout"]["shapes"] if "fillcolor" not in s]
    assert [(s["x0"], s["x1"], s["y0"]) for s in outlines] == [
        (0, 1, 0),
        (0, 1, 1),
        (0, 1, 2),
    ]
    assert [s["line"]["width"] for s in outlines] == [1.5, 4, 1.5]
    labels = [a["text"] for a in narrow["layout"]["annotations"] if a["text"]]
    assert labels[:2] == ["Ingest", "400 / 1k rec/s · 40% busy · 2.50×"]
    assert "CONSTRAINT" in labels
    points = narrow["data"][0]
    assert points["customdata"] == ["/i/", "/f/", "/n/"]
    assert "queue grows" in points["hovertext"][1]


def test_a_long_stage_name_is_shortened_in_the_stacked_flow_and_whole_on_hover():
    name = "Enrichment from the merchant graph"
    narrow = pipeline_flow(ledger(stage_row(name, 0.5)))["narrow"]
    label = narrow["layout"]["annotations"][0]["text"]
    assert len(label) == STACKED_LABEL_ROOM
    assert label.endswith("…")
    assert narrow["data"][0]["hovertext"][0].startswith(name)
