"""The situation report as a readable, printable HTML page (no scripts, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Any


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(str(c if c is not None else ''))}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(headers)}"><em>none</em></td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(report: dict[str, Any]) -> str:
    period = report["period"]
    kpis = report["now"]["kpis"]
    kpi_rows = [[k.replace("_", " "), v] for k, v in kpis.items() if not isinstance(v, dict)]
    sections = [
        (
            "Requests in the period, by sector",
            _table(
                ["Sector", "Requests", "Fulfilled", "People affected", "People reached"],
                [
                    [
                        r["sector"],
                        r["requests"],
                        r["fulfilled"],
                        r["people_affected"],
                        r["people_reached"],
                    ]
                    for r in report["requests_by_sector"]
                ],
            ),
        ),
        (
            "Incidents in the period, by area",
            _table(
                ["P-code", "Area", "Incidents"],
                [[r["pcode"], r["area_name"], r["incidents"]] for r in report["incidents_by_area"]],
            ),
        ),
        (
            "SLA alerts raised in the period",
            _table(
                ["Level", "Alerts"], [[k, v] for k, v in sorted(report["alerts_raised"].items())]
            ),
        ),
        ("Where things stand now", _table(["Indicator", "Value"], kpi_rows)),
        (
            "Largest coverage gaps now",
            _table(
                ["Sector", "Area", "Open requests", "People in need", "Eligible NGOs"],
                [
                    [
                        g["sector"],
                        f"{g['area_name']} ({g['pcode']})",
                        g["open_requests"],
                        g["people_in_need"],
                        g["eligible_ngos"],
                    ]
                    for g in report["now"]["top_gaps"]
                ],
            ),
        ),
        (
            "Incident hotspots (7 days)",
            _table(
                ["Area", "Incidents", "Previous 7 days", "Trend", "High risk"],
                [
                    [
                        h["area_name"],
                        h["current"],
                        h["previous"],
                        h["trend"],
                        "yes" if h["high_risk"] else "",
                    ]
                    for h in report["now"]["hotspots"]
                ],
            ),
        ),
        (
            "NGO contribution",
            _table(
                ["NGO", "Offers", "Accepted", "Fulfilled", "On time", "People reached"],
                [
                    [
                        c["name"],
                        c["offers"],
                        c["accepted"],
                        c["fulfilled"],
                        c["fulfilled_on_time"],
                        c["people_reached"],
                    ]
                    for c in report["now"]["contributions"]
                ],
            ),
        ),
    ]
    body = "".join(f"<h2>{escape(title)}</h2>{table}" for title, table in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Situation report {escape(period["start"][:10])} - {escape(period["end"][:10])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
th {{ background: #eef; }}
</style></head><body>
<h1>Situation report</h1>
<p>Period: {escape(period["start"])} to {escape(period["end"])} (UTC)</p>
{body}
</body></html>"""
