"""The report's charts as inline SVG, drawn by matplotlib (no script, no request, text left as text)."""
from __future__ import annotations

import io
import re

import pandas as pd

from pipeline.signals import SIGNALS

COLOURS = dict(zip(SIGNALS, ("#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")))
_ID = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "policy-signals", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt, *plt.subplots(figsize=(width, height))


def _svg(plt, figure, name: str) -> str:
    """The figure as an <svg> element whose ids are prefixed with `name` (several share one page)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = _ID.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    return svg.replace("<svg ", f'<svg class="chart" data-chart="{name}" role="img" ', 1)


def trend(rows: pd.DataFrame, name: str, periods: pd.DatetimeIndex) -> str:
    """Share of paragraphs flagged per signal and period, with the 95% intervals as bands. Every chart
    of a report spans the same `periods`, so they compare at a glance; a period without paragraphs
    breaks the line rather than being bridged."""
    import matplotlib.dates as mdates

    plt, figure, axes = _figure(5.6, 2.5)
    rows = rows.assign(period=pd.to_datetime(rows["period"])).set_index("period").reindex(periods)
    periods = rows.index
    for s in SIGNALS:
        axes.fill_between(periods, rows[f"share_{s}_low"], rows[f"share_{s}_high"], color=COLOURS[s], alpha=0.12,
                          linewidth=0)
        axes.vlines(periods, rows[f"share_{s}_low"], rows[f"share_{s}_high"], color=COLOURS[s], alpha=0.25,
                    linewidth=1)  # the interval of a period with no neighbour to band with
        axes.plot(periods, rows[f"share_{s}"], marker="o", markersize=3, color=COLOURS[s], label=s, linewidth=1.5)
    first, last = periods.min(), periods.max()
    margin = max((last - first) * 0.03, pd.Timedelta(days=10))
    axes.set_xlim(first - margin, last + margin)
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_ylim(0, 1)
    axes.set_ylabel("share of paragraphs")
    axes.legend(ncol=5, fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    return _svg(plt, figure, name)


def counts(flagged: dict[str, int], name: str) -> str:
    """Paragraphs flagged per signal, as horizontal bars."""
    plt, figure, axes = _figure(5.6, 1.6)
    labels = list(flagged)[::-1]
    axes.barh(labels, [flagged[s] for s in labels], color=[COLOURS[s] for s in labels])
    for y, s in enumerate(labels):
        axes.text(flagged[s], y, f" {flagged[s]:,}", va="center", fontsize=8)
    axes.set_xlabel("paragraphs flagged")
    return _svg(plt, figure, name)
