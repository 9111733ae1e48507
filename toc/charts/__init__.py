"""Plotly figures as plain dicts: data in, figure out, no database access.

Each builder returns ``{"data": [...], "layout": {...}}``; the page passes it with
``json_script`` and static/js/charts.js draws it with the plotly.js bundle served
from our static files.
"""
