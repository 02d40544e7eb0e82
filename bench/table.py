"""The figures of ``make bench`` and their Markdown table (pure functions, unit-tested).

A figure is ``{"value", "baseline", "ratio", "target", "unit"}`` plus optional keys: ``better``
("higher", the default, or "lower": for times and memory), ``min_value`` / ``max_value`` (an
absolute bound on the value, e.g. intake ≥ 300/s), ``max_p99_ms`` (a bound on the 99th
percentile latency ``p99_ms``: 50 ms at 8 connections in issue 17), ``invalid`` (why the numbers cannot be
trusted: errors during the run), ``note`` and any details (p99s, request counts, queries).
``ratio`` is always value / baseline; the target bounds it from below when higher is better,
from above when lower is better.
"""

from __future__ import annotations

from typing import Any


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    if abs(x) >= 100:
        return round(x, 1)
    return round(x, 4)


def figure(
    value: float | None,
    baseline: float | None,
    target: float | None,
    unit: str,
    *,
    better: str = "higher",
    **extra: Any,
) -> dict[str, Any]:
    ratio = value / baseline if value is not None and baseline else None
    out: dict[str, Any] = {
        "value": _round(value),
        "baseline": _round(baseline),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": target,
        "unit": unit,
    }
    if better != "higher":
        out["better"] = better
    out.update(extra)
    return out


def verdict(f: dict[str, Any]) -> str:
    """ "met", "MISSED: …" (every missed bound named), "INVALID: …", or "—" (no target)."""
    if f.get("invalid"):
        return f"INVALID: {f['invalid']}"
    lower = f.get("better") == "lower"
    bounds = any(f.get(k) is not None for k in ("target", "min_value", "max_value", "max_p99_ms"))
    if not bounds:
        return "—"
    if f["value"] is None or (f["target"] is not None and f["ratio"] is None):
        return "MISSED: not measured"
    misses = []
    if f["target"] is not None:
        if lower and f["ratio"] > f["target"]:
            misses.append(f"ratio {_ratio(f['ratio'], f['target'])} > {f['target']}")
        if not lower and f["ratio"] < f["target"]:
            misses.append(f"ratio {_ratio(f['ratio'], f['target'])} < {f['target']}")
    if f.get("min_value") is not None and f["value"] < f["min_value"]:
        misses.append(f"{_num(f['value'])} < {_num(f['min_value'])} {f['unit']}")
    if f.get("max_value") is not None and f["value"] > f["max_value"]:
        misses.append(f"{_num(f['value'])} > {_num(f['max_value'])} {f['unit']}")
    if f.get("max_p99_ms") is not None and (f.get("p99_ms") is None or f["p99_ms"] > f["max_p99_ms"]):
        misses.append(f"p99 {_num(f.get('p99_ms'))} ms > {_num(f['max_p99_ms'])} ms")
    return "MISSED: " + "; ".join(misses) if misses else "met"


def _ratio(ratio: float, target: float) -> str:
    """The ratio with two decimals, or three when two would print the target it missed
    (0.248 against 0.25: "ratio 0.248 < 0.25", not "ratio 0.25 < 0.25")."""
    text = f"{ratio:.2f}"
    return f"{ratio:.3f}" if float(text) == target else text


def _num(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.4f}"


def _target(f: dict[str, Any]) -> str:
    parts = []
    if f["target"] is not None:
        parts.append(("≤ " if f.get("better") == "lower" else "≥ ") + str(f["target"]))
    if f.get("min_value") is not None:
        parts.append(f"≥ {_num(f['min_value'])} {f['unit']}")
    if f.get("max_value") is not None:
        parts.append(f"≤ {_num(f['max_value'])} {f['unit']}")
    if f.get("max_p99_ms") is not None:
        parts.append(f"p99 ≤ {_num(f['max_p99_ms'])} ms")
    return ", ".join(parts) or "—"


def table(figures: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| figure | value | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in figures.items():
        unit = f["unit"]
        value = f"{_num(f['value'])} {unit}" if f["value"] is not None else "not measured"
        if f.get("p99_ms") is not None:
            value += f" (p99 {_num(f['p99_ms'])} ms)"
        base = f"{_num(f['baseline'])} {f.get('baseline_unit', unit)}" if f["baseline"] is not None else "—"
        if f.get("baseline_p99_ms") is not None:
            base += f" (p99 {_num(f['baseline_p99_ms'])} ms)"
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else "—"
        lines.append(f"| {name} | {value} | {base} | {ratio} | {_target(f)} | {verdict(f)} |")
    return lines


# The PostgreSQL settings a result records (``result["server"]``, read with SHOW), in this order.
SERVER_SETTINGS = (
    "shared_buffers",
    "effective_cache_size",
    "max_wal_size",
    "checkpoint_timeout",
    "autovacuum",
    "synchronous_commit",
    "fsync",
    "work_mem",
    "max_connections",
)
GB = 1024**3


def server_warnings(server: dict[str, Any]) -> list[str]:
    """What makes a run's figures not production's (docs/bench.md "Server settings"): little shared
    memory, autovacuum off, durability off. ``server`` has the settings as SHOW gives them and
    ``shared_buffers_bytes``."""
    out = []
    size = server.get("shared_buffers_bytes")
    if size is not None and size < GB:
        out.append(
            f"shared_buffers is {server.get('shared_buffers')} (< 1GB): a million applications' hot indexes do not "
            "stay in PostgreSQL's memory (production: 25 % of RAM)"
        )
    if server.get("autovacuum") == "off":
        out.append(
            "autovacuum is off: tables are vacuumed only by the bench's own step (vacuum_as_autovacuum), "
            "never during or between runs (production: on)"
        )
    for name in ("fsync", "synchronous_commit"):
        if server.get(name) == "off":
            out.append(f"{name} is off: commits do not wait for the disk, the write figures are not production's")
    return out


def server_line(server: dict[str, Any]) -> str:
    parts = [f"{name} {server[name]}" for name in SERVER_SETTINGS if server.get(name) is not None]
    line = f"PostgreSQL server {server.get('version', '?')}: " + ", ".join(parts) + "."
    if server.get("pending_restart"):
        line += " Changed, waiting for a restart: " + ", ".join(server["pending_restart"]) + "."
    return line


def markdown(result: dict[str, Any]) -> str:
    m, v = result["machine"], result["versions"]
    missed = [n for n, f in result["figures"].items() if verdict(f).startswith(("MISSED", "INVALID"))]
    lines = [
        f"# Sunshine benchmark {result['date']}",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB; "
        f"load average (1, 5, 15 min) {m['load_average_at_start']} at the start, "
        f"{m['load_average_at_end']} at the end.",
        f"Versions: Python {v['python']}, Django {v['django']}, PostgreSQL {v['postgresql']}, "
        f"gunicorn {v.get('gunicorn', '?')}, {v.get('wrk', 'wrk')}.",
        "Configuration: " + ", ".join(f"{k} {val}" for k, val in result["configuration"].items()),
    ]
    server = result.get("server")
    if server:
        lines.append(server_line(server))
        lines += [f"**Warning:** {w}." for w in server_warnings(server)]
    lines += [
        "",
        *table(result["figures"]),
        "",
        ("Targets missed: " + ", ".join(missed) + ".") if missed else "Every target was met.",
    ]
    notes = [f"- {name}: {f['note']}" for name, f in result["figures"].items() if f.get("note")]
    if notes:
        lines += ["", "Notes:", *notes]
    if result.get("not_measured"):
        lines += ["", "Not measured in this run: " + "; ".join(result["not_measured"]) + "."]
    return "\n".join(lines) + "\n"
