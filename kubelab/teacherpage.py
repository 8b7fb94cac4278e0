"""The teacher's page: one self-contained `index.html` beside a grading's files.

No server, no network, no script: inline CSS and an inline SVG histogram, and a Content
Security Policy that lets the page load nothing at all (a student's name or reason could
carry markup; every text is escaped, and even so nothing could run or be fetched). Korean
first, English beside it, as the labs are. It shows:

- a score histogram (students per score, 0 to the lab's total);
- the pass rate of each check, the hardest first (only graded students count);
- how many students are in each status (graded, invalid, timed out, …);
- a row per student: score, status, why, the lab's values for that student, and a link to
  their feedback page (feedback/<student>.md).

Readable at 1280 px and on a phone (the table scrolls sideways in its own box there).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from kubelab.labspec import Lab
from kubelab.text import Text, printable

if TYPE_CHECKING:
    from kubelab.grade import Grade

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
BAR_WIDTH = 28
BAR_HEIGHT = 120

STYLE = """
body{font-family:system-ui,-apple-system,"Noto Sans KR","Apple SD Gothic Neo",sans-serif;margin:0;
 padding:16px;color:#1d2330;background:#f6f7f9;line-height:1.45}
main{max-width:1200px;margin:0 auto}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:24px 0 8px}
.en{color:#5b6476;font-weight:normal}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:12px 16px;min-width:140px}
.card b{display:block;font-size:1.6rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:12px 16px;margin-top:12px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{font-size:.85rem;color:#5b6476}
td.num{text-align:right;white-space:nowrap}
.rate{display:flex;align-items:center;gap:8px}
.track{flex:1;min-width:80px;height:10px;background:#eceff3;border-radius:5px;overflow:hidden}
.fill{height:10px;background:#3b82f6}
.low .fill{background:#e5484d}
.status{font-size:.85rem;padding:2px 8px;border-radius:10px;background:#eceff3;white-space:nowrap}
.graded{background:#e6f4ea}.invalid,.timed-out{background:#fdecec}.environment-error{background:#fff4d6}
code{font-size:.85rem}
td.values code{display:inline-block;white-space:nowrap;margin:0 6px 2px 0}
td.why{min-width:180px;max-width:320px;overflow-wrap:anywhere}
table.rates td:first-child{width:62%}
.track{min-width:120px}
svg text{font-size:11px;fill:#5b6476}
@media (max-width:640px){body{padding:8px}.card{min-width:0;flex:1 1 40%;padding:8px 12px}h1{font-size:1.2rem}
 table.rates,table.rates tbody{display:block}table.rates code{overflow-wrap:anywhere}
 table.rates td{display:block;width:auto!important;border:0;padding:4px 0}
 table.rates tr{display:block;border-bottom:1px solid #eceff3;padding:6px 0}}
"""


def _e(text: object) -> str:
    return html.escape(printable(str(text)), quote=True)


def _both(text: Text) -> str:
    return f'{_e(text.ko)} <span class="en">/ {_e(text.en)}</span>'


def histogram(scores: Sequence[int], total: int) -> str:
    """An inline SVG: how many students have each score from 0 to `total`."""
    counts = Counter(scores)
    most = max(counts.values(), default=0) or 1
    bars = []
    for score in range(total + 1):
        height = round(BAR_HEIGHT * counts.get(score, 0) / most)
        x = score * BAR_WIDTH
        bars.append(
            f'<rect x="{x + 3}" y="{BAR_HEIGHT - height + 14}" width="{BAR_WIDTH - 6}" '
            f'height="{height}" fill="#3b82f6"><title>{score}: {counts.get(score, 0)}</title></rect>'
            f'<text x="{x + BAR_WIDTH / 2}" y="{BAR_HEIGHT + 28}" text-anchor="middle">{score}</text>'
            + (
                f'<text x="{x + BAR_WIDTH / 2}" y="{BAR_HEIGHT - height + 10}" '
                f'text-anchor="middle">{counts[score]}</text>'
                if counts.get(score)
                else ""
            )
        )
    width = (total + 1) * BAR_WIDTH
    return (
        f'<svg role="img" aria-label="score histogram" viewBox="0 0 {width} {BAR_HEIGHT + 34}" '
        f'width="100%" style="max-width:{max(width, 320)}px" preserveAspectRatio="xMinYMin meet">'
        + "".join(bars)
        + "</svg>"
    )


def pass_rates(lab: Lab, grades: Sequence[Grade]) -> list[tuple[str, Text, int, int]]:
    """(check id, title, students who passed it, students judged on it), the hardest
    first. A graded student was judged on every check their card has (all of them, unless
    only the look-only checks ran: `kubelab class status`)."""
    graded = [g for g in grades if g.status == "graded"]
    rates = []
    for check in lab.checks:
        judged = [g for g in graded if g.card is None or any(r.id == check.id for r in g.card.results)]
        passed = sum(1 for g in judged if g.points.get(check.id, 0) >= check.points)
        rates.append((check.id, check.title, passed, len(judged)))
    return sorted(rates, key=lambda r: (r[2] / r[3] if r[3] else 1.0, r[0]))


def page(lab: Lab, grades: Sequence[Grade], run: dict[str, object]) -> str:
    from kubelab.gradebook import STATUS_TEXT

    ordered = sorted(grades, key=lambda g: g.student)
    total = lab.total_points
    graded = [g for g in ordered if g.status == "graded"]
    mean = sum(g.earned for g in graded) / len(graded) if graded else 0.0
    statuses = Counter(g.status for g in ordered)
    rows = []
    for g in ordered:
        status = STATUS_TEXT.get(g.status, Text(g.status, g.status))
        values = "".join(f"<code>{_e(k)}={_e(v)}</code>" for k, v in sorted(g.values.items()))
        link = f"feedback/{quote(g.student, safe='')}.md"
        why = g.reason_ko or g.reason
        rows.append(
            "<tr>"
            f'<td><a href="{_e(link)}">{_e(g.student)}</a></td><td>{_e(g.name)}</td>'
            f'<td class="num">{g.earned}/{g.total or total}</td>'
            f'<td><span class="status {_e(g.status)}">{_e(status.ko)} / {_e(status.en)}</span></td>'
            f'<td class="why">{_e(why)}</td><td class="values">{values}</td>'
            "</tr>"
        )
    rate_rows = []
    for check_id, title, passed, count in pass_rates(lab, ordered):
        percent = round(100 * passed / count) if count else 0
        low = " low" if count and percent < 50 else ""
        rate_rows.append(
            f"<tr><td>{_both(title)}<br><code>{_e(check_id)}</code></td>"
            f'<td><div class="rate{low}"><div class="track"><div class="fill" style="width:{percent}%">'
            f'</div></div><span class="num">{percent}% ({passed}/{count})</span></div></td></tr>'
        )
    status_cards = "".join(
        f'<div class="card"><b>{n}</b>{_both(STATUS_TEXT.get(s, Text(s, s)))}</div>'
        for s, n in sorted(statuses.items())
    )
    about = " · ".join(_e(run[k]) for k in ("course", "graded_at") if run.get(k))
    return f"""<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab {_e(lab.id)} — {_e(lab.title.ko)} / {_e(lab.title.en)}</title>
<style>{STYLE}</style>
</head>
<body><main>
<h1>Lab {_e(lab.id)} — {_both(lab.title)}</h1>
<p>{about}</p>
<div class="cards">
<div class="card"><b>{len(ordered)}</b>학생 <span class="en">/ students</span></div>
<div class="card"><b>{mean:.1f}/{total}</b>평균 (채점됨) <span class="en">/ mean (graded)</span></div>
{status_cards}
</div>
<section><h2>점수 분포 <span class="en">/ scores</span></h2>
{histogram([g.earned for g in graded], total)}</section>
<section><h2>검사별 통과율, 어려운 것부터 <span class="en">/ pass rate per check, hardest first</span></h2>
<div class="scroll"><table class="rates"><tbody>{"".join(rate_rows)}</tbody></table></div></section>
<section><h2>학생 <span class="en">/ students</span></h2><div class="scroll"><table>
<thead><tr><th>학번 / id</th><th>이름 / name</th><th>점수 / score</th><th>상태 / status</th>
<th>이유 / why</th><th>실습 값 / lab values</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div></section>
</main></body></html>
"""
