"""PostgreSQL probes: the report's indexes in the plans (db_indexes), the server's settings
(pg_tuning) and the API's connection pool (db_pool)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from app.core.config import LIBRARY_DEFAULT_POOL_SIZE
from app.db.pool import APPLICATION_NAME
from harness.budget.settings.postgres import stock_settings
from harness.run.probes.base import ProbeContext, ProbeError, Reading

# The report's section 1 "Add Missing Indexes" (app/db/performance_indexes.sql), each with
# the query of the app it serves; %(project)s, %(domain)s and %(user)s are the benchmark
# user's own.
REPORT_QUERIES: dict[str, str] = {
    "idx_domains_project_id": "SELECT id, total_pages FROM domains WHERE project_id = %(project)s",
    "idx_pages_domain_id_processed_indexed": (
        "SELECT count(id) FROM pages WHERE domain_id = %(domain)s"
        " AND processed = true AND indexed = true"
    ),
    "idx_pages_scraped_at": "SELECT max(scraped_at) FROM pages",
    "idx_projects_user_id_created_at": (
        "SELECT id FROM projects WHERE user_id = %(user)s ORDER BY created_at DESC LIMIT 100"
    ),
}
# All five of the report's indexes; the queries above cover the four the API's reads use.
REPORT_INDEXES = (*REPORT_QUERIES, "idx_scrape_pages_status_domain_id")
# The indexes on the table that holds the data, which its queries must use.
PAGES_INDEXES = frozenset({"idx_pages_domain_id_processed_indexed", "idx_pages_scraped_at"})
SEQ_SCAN = "Seq Scan"
# pg_settings.source of a value nobody set: built in, or computed by the server (wal_buffers);
# initdb also writes a few built-in values into the file (shared_buffers = 128MB).
DEFAULT_SOURCES = frozenset({"default", "override"})
POOL_MAX_SAMPLE = 'chrono_db_pool_connections{state="max"}'
# PostgreSQL's units of memory and time (pg_settings.unit, postgresql.conf suffixes).
MEMORY_KB = {"kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}
TIME_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
VALUE_WITH_UNIT = re.compile(r"^\s*(-?[0-9.]+)\s*([a-zA-Z]*)\s*$")


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def db_indexes(context: ProbeContext, on: bool) -> Reading:
    """The report's indexes in the catalog, and EXPLAIN (ANALYZE, BUFFERS) of the queries
    they serve.

    Off: none of the report's indexes exists, none is used and some query scans a whole
    table; on: all exist and are valid, and the queries on `pages` (the table that holds
    the data) use theirs. On the small tables the planner may rightly prefer a scan of a
    few pages: what it chose there is a figure, not judged.
    """
    user_id, projects = context.bench_user()
    if not projects:
        raise ProbeError("the benchmark user has no projects")
    with context.superuser() as conn:
        domain = conn.execute(
            "SELECT id FROM domains WHERE project_id = %s ORDER BY id LIMIT 1", (projects[0],)
        ).fetchone()
        if domain is None:
            raise ProbeError(f"project {projects[0]} has no domains")
        present_rows = conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = ANY(%s) AND i.indisvalid",
            (list(REPORT_INDEXES),),
        ).fetchall()
        params = {"project": projects[0], "domain": domain[0], "user": user_id}
        plans: dict[str, list[Mapping[str, Any]]] = {}
        buffers = 0.0
        for index, query in REPORT_QUERIES.items():
            row = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query,
                params,
            ).fetchone()
            assert row is not None
            document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
            top = document[0]["Plan"]
            plans[index] = list(_nodes(top))
            buffers += float(top.get("Shared Hit Blocks", 0)) + float(
                top.get("Shared Read Blocks", 0)
            )
    present = {str(row[0]) for row in present_rows}
    used = {i for i, nodes in plans.items() if any(n.get("Index Name") == i for n in nodes)}
    seq = sorted(
        {n["Relation Name"] for ns in plans.values() for n in ns if n["Node Type"] == SEQ_SCAN}
    )
    figures: dict[str, float | str] = {
        "report_indexes_present": float(len(present)),
        "report_indexes_used": float(len(used)),
        "seq_scans": ", ".join(seq) or "none",
        "shared_buffers_touched": buffers,
    }
    summary = (
        f"{len(present)} of {len(REPORT_INDEXES)} report indexes present, {len(used)} of "
        f"{len(REPORT_QUERIES)} queries use theirs, seq scans: {figures['seq_scans']}"
    )
    if on:
        missing = sorted(set(REPORT_INDEXES) - present) + sorted(PAGES_INDEXES - used)
        ok = not missing
        return Reading(
            ok, summary + ("" if ok else f"; missing or unused: {', '.join(missing)}"), figures
        )
    return Reading(not present and not used and bool(seq), summary, figures)


def _in_base_unit(value: str, unit: str | None) -> float | str:
    """A setting's value in its pg_settings unit ('768MB' with unit '8kB' -> 98304)."""
    text = value.strip().strip("'")
    match = VALUE_WITH_UNIT.match(text)
    if match is None:
        return text.lower()
    number, suffix = float(match.group(1)), match.group(2)
    if not unit or not suffix:
        return number
    base = VALUE_WITH_UNIT.match(unit)
    base_number = float(base.group(1)) if base and base.group(1) else 1.0
    base_suffix = base.group(2) if base else unit
    for table in (MEMORY_KB, TIME_MS):
        if suffix in table and base_suffix in table:
            return number * table[suffix] / (table[base_suffix] * base_number)
    return text.lower()


def pg_tuning(context: ProbeContext, on: bool) -> Reading:
    """SHOW (pg_settings) against the budget's rendered postgresql.conf.

    Off: every setting the budget tunes is PostgreSQL's default (set by nobody), or the
    stock file's value for the few both variants need; on: every one is the budget's.
    """
    target = context.target
    tuned = target.budget["postgres"].settings
    stock = stock_settings(target.budget.connections.max_connections)
    with context.superuser() as conn:
        rows = conn.execute(
            "SELECT name, setting, unit, source, current_setting(name), boot_val FROM pg_settings"
            " WHERE name = ANY(%s)",
            (list(tuned),),
        ).fetchall()
    live = {row[0]: row[1:] for row in rows}
    wrong: list[str] = []
    for name, value in tuned.items():
        if name not in live:
            wrong.append(f"{name} unknown to the server")
            continue
        setting, unit, source, shown, boot = live[name]
        if on or name in stock:
            wanted = value if on else stock[name]
            if _in_base_unit(setting, None) != _in_base_unit(wanted, unit):
                wrong.append(f"{name} = {shown} (wanted {wanted})")
        elif source not in DEFAULT_SOURCES and setting != boot:
            wrong.append(f"{name} = {shown} from the {source} (wanted the default)")
    figures: dict[str, float | str] = {
        name: str(live[name][3])
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost")
        if name in live
    }
    what = "the budget's values" if on else "PostgreSQL's defaults"
    if wrong:
        return Reading(
            False,
            f"{len(wrong)} of {len(tuned)} settings are not {what}: {'; '.join(wrong[:3])}",
            figures,
        )
    return Reading(True, f"all {len(tuned)} settings the budget tunes are {what}", figures)


def db_pool(context: ProbeContext, on: bool) -> Reading:
    """The API's pools (their max size, summed over its processes) and its server sessions.

    Off: psycopg_pool's default size per process (min = max = 4); on: the budget's max.
    """
    env = context.app_env()
    workers = int(env.get("CHRONO_API_WORKERS", "1"))
    per_process = int(env["CHRONO_DB_POOL_MAX"]) if on else LIBRARY_DEFAULT_POOL_SIZE
    metrics = context.api_metrics()
    if POOL_MAX_SAMPLE not in metrics:
        raise ProbeError("the API's /metrics has no pool size (chrono_db_pool_connections)")
    pool_max = metrics[POOL_MAX_SAMPLE]
    with context.superuser() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s"
            " AND application_name = %s",
            (context.target.database, context.target.role, APPLICATION_NAME),
        ).fetchone()
    sessions = float(row[0]) if row else 0.0
    figures: dict[str, float | str] = {
        "pool_max_total": pool_max,
        "api_processes": float(workers),
        "api_server_sessions": sessions,
    }
    expected = per_process * workers
    detail = (
        f"pool max {pool_max:.0f} over {workers} API processes (wanted {expected}: "
        f"{'the budget' if on else 'the library default'} {per_process} each), "
        f"{sessions:.0f} API sessions on the server"
    )
    return Reading(pool_max == expected and 0 < sessions <= pool_max, detail, figures)
