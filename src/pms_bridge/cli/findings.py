"""Show findings and the rule catalog to a person (tables) or a program (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pms_bridge.pipeline import CheckReport
from pms_bridge.rules import RULES, Finding


def finding_json(f: Finding) -> dict[str, Any]:
    r = RULES[f.rule]
    return {
        "key": f.key,
        "rule": f.rule,
        "name": r.name,
        "severity": f.severity or r.severity,
        "role": r.role,
        "subject_type": f.subject_type,
        "subject_id": f.subject_id,
        "patient_id": f.patient_id,
        "appointment_id": f.appointment_id,
        "title": f.title,
        "detail": f.detail,
        "fix": r.fix,
        "due": f.due.isoformat(),
        "data": f.data,
    }


def print_counts(console: Console, report: CheckReport) -> None:
    table = Table(title=f"Checks as of {report.as_of:%Y-%m-%d %H:%M %Z}", title_justify="left")
    for header in ("rule", "name", "role", "findings"):
        table.add_column(header, justify="right" if header == "findings" else "left")
    for code, count in report.counts().items():
        r = RULES[code]
        table.add_row(code, r.name, r.role, f"[bold]{count}[/bold]" if count else "0")
    console.print(table)
    console.print(f"{len(report.findings):,} finding(s) from {len(report.rules)} rule(s).")
    if report.skipped:
        left_out = ", ".join(f"{code} (needs {' and '.join(needs)})" for code, needs in report.skipped.items())
        console.print(f"[yellow]Rules left out[/yellow] (the PMS could not serve what they read): {escape(left_out)}")


def print_findings(console: Console, report: CheckReport) -> None:
    table = Table(title=f"Findings as of {report.as_of:%Y-%m-%d %H:%M %Z}", title_justify="left", show_lines=False)
    for header in ("due", "rule", "role", "patient", "appt", "what"):
        table.add_column(header)
    for f in report.findings:
        table.add_row(
            f.due.isoformat(), f.rule, RULES[f.rule].role, f.patient_id, f.appointment_id or "",
            escape(f.title),
        )
    console.print(table)


def print_findings_json(report: CheckReport) -> None:
    print(json.dumps([finding_json(f) for f in report.findings], indent=2))


def _brief(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def print_catalog(console: Console) -> None:
    table = Table(title="Rules", title_justify="left")
    for header in ("code", "name", "role", "severity"):
        table.add_column(header, no_wrap=True)
    table.add_column("settings (defaults; --format json for all)", overflow="fold")
    for r in RULES.values():
        defaults = r.settings_model().model_dump(mode="json")
        settings = ", ".join(f"{name}={_brief(value)}" for name, value in defaults.items())
        table.add_row(r.code, r.name, r.role, r.severity, escape(settings))
    console.print(table)
