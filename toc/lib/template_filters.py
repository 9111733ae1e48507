"""The number formats of toc.lib.formats as template filters: `{% load formats %}`
(registered in settings.TEMPLATES, as toc.lib is not an app)."""

from __future__ import annotations

from django import template

from toc.lib import formats

register = template.Library()
register.filter("percent", formats.percent)
register.filter("rate", formats.rate)
register.filter("times", formats.times)
register.filter("duration", formats.duration)
register.filter("signed_rate", formats.signed_rate)
register.filter("words", formats.words)
register.filter("count", formats.count)
register.filter("number", formats.number)
register.filter("significant", formats.significant)
register.filter("moment", formats.moment)
register.filter("latency", formats.latency)
register.filter("per_hour", formats.per_hour)
register.filter("unit_suffix", formats.unit_suffix)
