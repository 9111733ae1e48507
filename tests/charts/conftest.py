from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest


@pytest.fixture
def valid():
    """Asserts a figure is what plotly.js accepts: Plotly's own validators reject
    unknown properties and bad values, and the page needs it as JSON."""

    def check(figure: dict) -> dict:
        go.Figure(data=figure["data"], layout=figure["layout"])
        json.dumps(figure, allow_nan=False)
        return figure

    return check
