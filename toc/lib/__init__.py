"""Project helpers every layer may use: formatting, HTTP views, ordering, rate limits,
health and outage pages. They import no toc app."""
