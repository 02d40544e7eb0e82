"""The JSON figures and the Markdown table of ``make bench`` (bench/table.py): no timing here."""

from __future__ import annotations

from bench.table import figure, markdown, server_line, server_warnings, table, verdict


def test_a_figure_has_the_schema_of_issue_9():
    f = figure(250.0, 500.0, 0.8, "req/s", p99_ms=12.5)
    assert f == {"value": 250.0, "baseline": 500.0, "ratio": 0.5, "target": 0.8, "unit": "req/s", "p99_ms": 12.5}


def test_verdicts_name_every_missed_bound():
    assert verdict(figure(450.0, 500.0, 0.8, "req/s")) == "met"
    assert verdict(figure(250.0, 500.0, 0.8, "req/s")) == "MISSED: ratio 0.50 < 0.8"
    both = figure(120.0, 400.0, 0.4, "req/s", min_value=300)
    assert verdict(both) == "MISSED: ratio 0.30 < 0.4; 120 < 300 req/s"
    assert verdict(figure(350.0, 400.0, 0.4, "req/s", min_value=300)) == "met"
    assert verdict(figure(3.0, 1.0, None, "calls/s")) == "—"


def test_a_p99_bound_is_a_target_of_its_own():
    fast = figure(900.0, 1000.0, 0.8, "req/s", p99_ms=12.0, max_p99_ms=50)
    assert verdict(fast) == "met"
    slow = figure(900.0, 1000.0, 0.8, "req/s", p99_ms=75.5, max_p99_ms=50)
    assert verdict(slow) == "MISSED: p99 75.50 ms > 50.00 ms"
    assert verdict(figure(500.0, 1000.0, 0.8, "req/s", p99_ms=75.5, max_p99_ms=50)) == (
        "MISSED: ratio 0.50 < 0.8; p99 75.50 ms > 50.00 ms"
    )
    assert verdict(figure(900.0, 1000.0, None, "req/s", max_p99_ms=50)) == "MISSED: p99 — ms > 50.00 ms"
    assert table({"x": slow})[2] == (
        "| x | 900 req/s (p99 75.50 ms) | 1,000 req/s | 0.90 | ≥ 0.8, p99 ≤ 50.00 ms "
        "| MISSED: p99 75.50 ms > 50.00 ms |"
    )


def test_a_ratio_that_rounds_to_its_target_is_printed_with_three_decimals():
    assert verdict(figure(481.0, 1938.0, 0.25, "req/s")) == "MISSED: ratio 0.248 < 0.25"
    assert verdict(figure(450.0, 1938.0, 0.25, "req/s")) == "MISSED: ratio 0.23 < 0.25"
    assert verdict(figure(1104.0, 1000.0, 1.1, "MB", better="lower")) == "MISSED: ratio 1.104 > 1.1"


def test_lower_is_better_figures_bound_the_ratio_from_above():
    assert verdict(figure(110.0, 100.0, 1.1, "MB", better="lower")) == "met"
    assert verdict(figure(150.0, 100.0, 1.1, "MB", better="lower")) == "MISSED: ratio 1.50 > 1.1"


def test_invalid_and_unmeasured_figures_say_so():
    f = figure(100.0, 200.0, 0.8, "req/s", invalid="3 / 0 non-2xx responses")
    assert verdict(f) == "INVALID: 3 / 0 non-2xx responses"
    assert verdict(figure(None, 200.0, 0.5, "transitions/s")) == "MISSED: not measured"


def test_the_table_marks_missed_targets_and_states_the_load():
    result = {
        "date": "2026-11-27",
        "machine": {
            "cpus": 2,
            "cpu_model": "AMD EPYC",
            "memory_gb": 23.5,
            "load_average_at_start": [0.5, 0.4, 0.3],
            "load_average_at_end": [1.5, 1.0, 0.6],
        },
        "versions": {
            "python": "3.11.7",
            "django": "5.2",
            "postgresql": "15.20",
            "gunicorn": "23.0.0",
            "wrk": "wrk 4.1.0",
        },
        "configuration": {"applications": 1000000},
        "figures": {
            "progress_lookup": figure(900.0, 1000.0, 0.8, "req/s", p99_ms=20.0, baseline_p99_ms=10.0),
            "intake": figure(120.0, 400.0, 0.4, "req/s", min_value=300),
            "workdays": figure(300000.0, 15000.0, None, "calls/s"),
        },
        "not_measured": [],
    }
    md = markdown(result)
    assert "load average (1, 5, 15 min) [0.5, 0.4, 0.3] at the start, [1.5, 1.0, 0.6] at the end." in md
    assert table(result["figures"]) == [
        "| figure | value | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        "| progress_lookup | 900 req/s (p99 20.00 ms) | 1,000 req/s (p99 10.00 ms) | 0.90 | ≥ 0.8 | met |",
        "| intake | 120 req/s | 400 req/s | 0.30 | ≥ 0.4, ≥ 300 req/s | MISSED: ratio 0.30 < 0.4; 120 < 300 req/s |",
        "| workdays | 300,000 calls/s | 15,000 calls/s | 20.00 | — | — |",
    ]
    assert "Targets missed: intake." in md


SERVER = {
    "version": "15.20 (Debian 15.20-0+deb12u1)",
    "shared_buffers": "4GB",
    "effective_cache_size": "12GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "autovacuum": "on",
    "synchronous_commit": "on",
    "fsync": "on",
    "work_mem": "4MB",
    "max_connections": "100",
    "shared_buffers_bytes": 4 * 1024**3,
    "pending_restart": [],
}


def test_the_server_settings_are_stated_and_a_production_like_server_warns_of_nothing():
    assert server_warnings(SERVER) == []
    assert server_line(SERVER) == (
        "PostgreSQL server 15.20 (Debian 15.20-0+deb12u1): shared_buffers 4GB, effective_cache_size 12GB, "
        "max_wal_size 4GB, checkpoint_timeout 15min, autovacuum on, synchronous_commit on, fsync on, "
        "work_mem 4MB, max_connections 100."
    )
    waiting = {**SERVER, "pending_restart": ["shared_buffers"]}
    assert server_line(waiting).endswith(" Changed, waiting for a restart: shared_buffers.")


def test_a_small_shared_buffers_autovacuum_off_and_durability_off_are_warned_of():
    defaults = {**SERVER, "shared_buffers": "128MB", "shared_buffers_bytes": 128 * 1024**2, "autovacuum": "off"}
    warnings = server_warnings(defaults)
    assert [w.split(":")[0] for w in warnings] == ["shared_buffers is 128MB (< 1GB)", "autovacuum is off"]
    assert server_warnings({**SERVER, "shared_buffers": "1GB", "shared_buffers_bytes": 1024**3}) == []
    unsafe = server_warnings({**SERVER, "fsync": "off", "synchronous_commit": "off"})
    assert [w.split(":")[0] for w in unsafe] == ["fsync is off", "synchronous_commit is off"]


def test_the_markdown_carries_the_server_and_its_warnings():
    result = {
        "date": "2026-12-05",
        "machine": {
            "cpus": 2,
            "cpu_model": "AMD EPYC",
            "memory_gb": 23.5,
            "load_average_at_start": [0.5, 0.4, 0.3],
            "load_average_at_end": [1.5, 1.0, 0.6],
        },
        "versions": {"python": "3.11.7", "django": "5.2", "postgresql": "15.20"},
        "server": {**SERVER, "autovacuum": "off"},
        "configuration": {"applications": 1000000},
        "figures": {"workdays": figure(300000.0, 15000.0, None, "calls/s")},
        "not_measured": [],
    }
    lines = markdown(result).splitlines()
    at = lines.index(server_line(result["server"]))
    assert lines[at - 1].startswith("Configuration: applications 1000000")
    assert lines[at + 1].startswith("**Warning:** autovacuum is off: ")
    assert lines[at + 2] == ""
    del result["server"]  # a result of before 2026-12-05 06:00 UTC
    assert not any(line.startswith(("PostgreSQL server", "**Warning")) for line in markdown(result).splitlines())
