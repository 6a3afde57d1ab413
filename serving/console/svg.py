"""Small server-side SVG charts for the HTML report: no script, so a mailed report still draws.

(The console draws its own interactive charts in the browser, see ``static/charts.js``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#6e7781")


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    width: int = 640,
    height: int = 220,
    y_format: str = "{:.0f}",
) -> str:
    """A multi-series line chart; gaps (None) break a line. Each point has a ``<title>``."""
    pad_l, pad_r, pad_t, pad_b = 44, 22, 10, 36
    values = [v for _, ys in series for v in ys if v is not None]
    if not x_labels or not values:
        return '<p class="empty">Veri yok.</p>'
    top, bottom = max(0.0, max(values)), min(0.0, min(values))
    if top == bottom:
        top = bottom + 1.0
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    step = inner_w / max(len(x_labels) - 1, 1)

    def x(i: int) -> float:
        return pad_l + i * step if len(x_labels) > 1 else pad_l + inner_w / 2

    def y(v: float) -> float:
        return pad_t + inner_h * (1 - (v - bottom) / (top - bottom))

    # the legend's entries, row by row: a long topic name moves to the next row, not past the edge
    legend, row, at = [], 0, pad_l
    for name, _ in series:
        need = 24 + 7 * len(name)
        if at > pad_l and at + need > width - pad_r:
            row, at = row + 1, pad_l
        legend.append((at, row))
        at += need
    total = height + 14 * row
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {total}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0, 0.5, 1):
        value = bottom + (top - bottom) * frac
        gy = y(value)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{gy:.1f}" y2="{gy:.1f}" '
            f'stroke="#d0d7de"/><text x="{pad_l - 4}" y="{gy + 4:.1f}" text-anchor="end" '
            f'font-size="10">{escape(y_format.format(value))}</text>'
        )
    every = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - pad_b + 14}" text-anchor="middle" '
                f'font-size="10">{escape(_day_month(label))}</text>'
            )
    for n, (name, ys) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        path, pen = [], "M"
        for i, v in enumerate(ys):
            if v is None:
                pen = "M"
                continue
            path.append(f"{pen}{x(i):.1f},{y(v):.1f}")
            pen = "L"
        parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, v in enumerate(ys):
            if v is not None:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}">'
                    f"<title>{escape(name)} {escape(x_labels[i])}: "
                    f"{escape(y_format.format(v))}</title></circle>"
                )
    for n, ((name, _), (legend_x, row)) in enumerate(zip(series, legend, strict=True)):
        color = PALETTE[n % len(PALETTE)]
        base = height + 14 * row
        parts.append(
            f'<rect x="{legend_x}" y="{base - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{base - 5}" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _day_month(label: str) -> str:
    """An axis label: ``2026-11-03`` as ``03.11`` (Turkish order; ``11-03`` reads as 11 March)."""
    if len(label) == 10 and label[4] == "-" and label[7] == "-":
        return f"{label[8:]}.{label[5:7]}"
    return label


def bar_rows(rows: Sequence[tuple[str, float]], fmt: str = "{:.0f}") -> str:
    """Horizontal bars as an HTML table (label, bar, value) — readable in any mail client."""
    top = max((v for _, v in rows), default=0) or 1
    out = ['<table class="bars">']
    for label, value in rows:
        pct = 100 * value / top
        out.append(
            f"<tr><th>{escape(label)}</th><td><div class='bar' style='width:{pct:.1f}%'></div>"
            f"</td><td class='num'>{escape(fmt.format(value))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)
