"""skill.html: the training's honest skill on events it never saw, one self-contained page
(tables + the plots next to it under plots/), written into the model folder, so it travels
with the model store and the MLflow run's artifacts."""

import html
from pathlib import Path
from typing import Any

WHO = (("model", "model"), ("crw_baseline", "CRW rule"), ("dhw_logistic", "DHW logistic"))
METRICS = ("auroc", "pr_auc", "f1", "brier", "peirce", "bleach_risk_p90")


def number(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def skill_table(rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{m}<br><small>model / CRW / DHW-log.</small></th>" for m in METRICS)
    body = []
    for row in rows:
        cells = "".join(
            "<td>" + " / ".join(number((row.get(k) or {}).get(m)) for k, _ in WHO) + "</td>"
            for m in METRICS
        )
        model = row["model"]
        body.append(
            f"<tr><td>{html.escape(row['event'])}</td><td>{model['n']}</td>"
            f"<td>{model['positives']}</td>{cells}</tr>"
        )
    return (
        f"<table><tr><th>held out</th><th>rows</th><th>positives</th>{head}</tr>"
        + "".join(body)
        + "</table>"
    )


def later_table(later: list[dict[str, Any]]) -> str:
    if not later:
        return "<p>Not computed for this training (no later years given).</p>"
    scorers = [k for k in later[0] if isinstance(later[0][k], dict)]
    rows = []
    for entry in later:
        for name in scorers:
            s = entry[name]
            rows.append(
                f"<tr><td>{entry['year']}</td><td>{html.escape(name)}</td><td>{s['pixels']}</td>"
                f"<td>{s['spearman']:.4f}</td><td>{s['kendall_tau_b']:.4f}</td>"
                f"<td>{100 * s['inverted_pair_share']:.2f} %</td></tr>"
            )
    return (
        "<table><tr><th>year</th><th>risk of</th><th>pixels</th><th>Spearman</th>"
        "<th>Kendall tau-b</th><th>pairs ordered against DHW</th></tr>" + "".join(rows) + "</table>"
    )


def evidence_table(evidence: list[dict[str, Any]]) -> str:
    """The learned members' out-of-fold AUROC change against DHW alone, per held-out unit."""
    parts = ("events", "event_x_block")
    units = sorted({u for e in evidence for part in parts for u in e.get(part, {})})
    if not units:
        return ""
    head = "".join(f"<th>{html.escape(u)}</th>" for u in units)
    rows = []
    for entry in evidence:
        changes = {**entry.get("events", {}), **entry.get("event_x_block", {})}
        cells = "".join(
            f"<td style='color:{'#b00' if changes.get(u, 0) < 0 else '#060'}'>"
            f"{number(changes.get(u))}</td>"
            for u in units
        )
        rows.append(f"<tr><td>{entry['member']} w {entry['weight']:g}</td>{cells}</tr>")
    return (
        "<h2>Learned members: out-of-fold AUROC change against DHW alone</h2>"
        "<p>prior + w x member, per held-out event and event x spatial block; one negative "
        "cell keeps the member out of the ensemble.</p>"
        f"<table><tr><th>member</th>{head}</tr>{''.join(rows)}</table>"
    )


def write_skill_page(
    path: Path, card: dict[str, Any], report: dict[str, Any], plots: list[str]
) -> Path:
    loeo = report["leave_one_event_out"]
    blocked = report["event_x_spatial_block"]
    ensemble = card["ensemble"]
    images = "".join(f'<img src="plots/{html.escape(p)}" alt="{html.escape(p)}">' for p in plots)
    sections = [
        f"<h1>ReefGuard model {html.escape(card['version'])}: skill on events it never saw</h1>",
        f"<p>data version <code>{card['data_version']}</code>, code version "
        f"<code>{html.escape(card['code_version'])}</code>, saved threshold "
        f"{card['threshold']:.4f}; ensemble weights (physics, xgboost, vit) "
        f"{ensemble['weights']}.</p><p>{html.escape(ensemble['calibration'])}</p>",
        "<h2>Leave-one-event-out (a whole year held out, trained on every other year)</h2>",
        skill_table(loeo["held_out_events"] + loeo["summaries"]),
        "<h2>Event x spatial block (a new year at reefs the fold never trained on)</h2>",
        skill_table(blocked.get("held_out_blocks", []) + blocked.get("summaries", [])),
        "<p>Model, CRW rule (Alert Level 1: DHW &gt;= 4, ranks by DHW) and a DHW-only logistic "
        "on exactly the same rows; F1 and Peirce at the saved threshold (the DHW logistic at "
        "its own best threshold); the CRW rule's Brier and BLEACH_RISK_P90 are of its 0/1 "
        "alert.</p>",
        evidence_table(report.get("member_evidence", [])),
        "<h2>Later years without labels: does the risk follow DHW?</h2>",
        "<p>Every GBR pixel of a later year the shipped products cover, features built as "
        "evaluate builds them; the risk's rank agreement with the year's annual maximum DHW. "
        "<b>This is not a skill number</b> (no labels): it shows whether the model keeps "
        "DHW's ranking (AUROC 0.93 on the GBR in 2016). 'learned parts' is the ensemble the "
        "leave-one-event-out folds alone would have chosen, without the event x block "
        "check.</p>",
        later_table(report.get("later_years", [])),
        "<h2>Plots</h2>",
        images,
    ]
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:1em auto}"
        "table{border-collapse:collapse;font-size:12px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "img{max-width:48%;margin:4px;border:1px solid #eee}"
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>ReefGuard skill "
        f"{html.escape(card['version'])}</title><style>{style}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
    return path
