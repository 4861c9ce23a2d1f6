"""Chart renderers for ``res.plot()`` / ``res.report(path)`` (registered as entry points, see pyproject.toml)."""

from entrypoints.reports.html import HtmlChartRenderer

__all__ = ["HtmlChartRenderer"]
