"""A stacked bar chart as server-rendered SVG: no script, no library, accessible by construction.

The SVG is ``role="img"`` with ``<title>`` and ``<desc>`` (the page also shows the same numbers as a
table); colours come from presentation attributes (the page's CSP forbids inline styles) and have
at least 3:1 contrast against white (WCAG 1.4.11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Series colours, ≥ 3:1 against white; the legend repeats them next to the channel names.
COLOURS = ("#0b4f8a", "#b35c00", "#1e6b2f", "#6a1b9a", "#4a4a4a")
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 40


@dataclass(frozen=True)
class Bar:
    label: str  # x axis label, e.g. "02.03."
    values: tuple[int, ...]  # one per series


def _ticks(maximum: int) -> list[int]:
    """Up to five round gridline values from 0 to at least ``maximum``."""
    if maximum <= 0:
        return [0, 1]
    step = 1
    while maximum / step > 5:
        step = step * 2 if str(step)[0] in "15" else step * 5 // 2  # 1, 2, 5, 10, 20, 50 …
    return list(range(0, maximum + step, step))


def stacked_bars(bars: Sequence[Bar], *, title: str, description: str, chart_id: str = "chart") -> Markup:
    """The chart as an inline ``<svg>`` element."""
    totals = [sum(bar.values) for bar in bars] or [0]
    ticks = _ticks(max(totals))
    top_value = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    bar_w = max(slot * 0.7, 1.0)
    label_every = max(1, round(len(bars) / 10))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / top_value
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#767676" '
                     f'stroke-width="{1 if tick == 0 else 0.5}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#1a1a1a">{tick}</text>')
    for index, bar in enumerate(bars):
        x = LEFT + index * slot + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        for series, value in enumerate(bar.values):
            if value <= 0:
                continue
            height = plot_h * value / top_value
            base -= height
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                         f'fill="{COLOURS[series % len(COLOURS)]}"/>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#1a1a1a">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
