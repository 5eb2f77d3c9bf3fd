"""Synthetic company generation speed beside a plain Faker-per-row loop, in the same run.

Anchor: one Faker call per field per row, written with ``csv.writer`` — the obvious way to
make fake CRM rows. It writes only the CRM file (14 columns); ``generate_company`` writes all
ten sources and ground-truth files (``--parts identity``: the four identity resolution reads).
The anchor runs on at most ``--anchor-rows`` rows and is scaled linearly to the same number of
CRM rows (the output says when it was). Peak memory is the process's maximum resident set.

Run:  .venv/bin/python bench/generate.py [--customers 100000] [--seed 7] [--parts all] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from faker import Faker
from rich.console import Console
from rich.table import Table

from aimsight.demo._generate import CRM_COLUMNS, generate_company


def _faker_loop(path: Path, rows: int, seed: int) -> float:
    """Seconds to write ``rows`` CRM-like rows calling Faker per field."""
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL"])
    fake.seed_instance(seed)
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CRM_COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    f"C{1_000_001 + i}",
                    fake.first_name(),
                    fake.last_name(),
                    fake.email(),
                    fake.phone_number(),
                    fake.street_address(),
                    fake.city(),
                    fake.postcode(),
                    fake.country_code(),
                    fake.date_of_birth().isoformat(),
                    fake.date_time_this_decade().isoformat(),
                    fake.random_element(("basic", "standard", "premium")),
                    fake.date_time_this_decade().isoformat(),
                    fake.random_element(("web_signup", "store_pos")),
                ]
            )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both, print a table (or JSON) and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parts", choices=("all", "identity"), default="all")
    parser.add_argument("--anchor-rows", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = generate_company(
            Path(tmp) / "company", customers=args.customers, seed=args.seed, parts=args.parts
        )
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started  # steadier on a shared machine
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        crm_rows = summary.files["crm/customers.csv"]
        anchor_rows = min(crm_rows, args.anchor_rows)
        anchor_seconds = _faker_loop(Path(tmp) / "faker.csv", anchor_rows, args.seed)
    scaled = anchor_rows < crm_rows
    anchor_rate = anchor_rows / anchor_seconds
    result = {
        "command": "bench/generate.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "customers": args.customers,
        "parts": args.parts,
        "generate_company": {
            "files": len(summary.files),
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu_seconds, 2),
            "peak_rss_mib": round(peak_mib),
            "total_rows": summary.total_rows,
            "crm_rows": crm_rows,
            "rows_per_second": round(summary.total_rows / seconds),
            "crm_rows_per_second_of_total_time": round(crm_rows / seconds),
        },
        "faker_per_row": {
            "rows_measured": anchor_rows,
            "seconds_measured": round(anchor_seconds, 2),
            "rows_per_second": round(anchor_rate),
            "seconds_for_same_crm_rows": round(crm_rows / anchor_rate, 2),
            "scaled_linearly": scaled,
        },
        "speedup_all_files_vs_anchor_crm_only": round((crm_rows / anchor_rate) / seconds, 1),
        "rows_per_second_ratio": round((summary.total_rows / seconds) / anchor_rate, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return result
    table = Table(title=f"synthetic company, {args.customers:,} customers, parts {args.parts}")
    for column in ("what", "rows", "seconds", "rows/s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    gen = result["generate_company"]
    table.add_row(
        f"generate_company ({len(summary.files)} files)",
        f"{summary.total_rows:,}",
        f"{seconds:.2f}",
        f"{gen['rows_per_second']:,}",
    )
    table.add_row(
        "Faker per row + csv.writer (CRM only)" + (" *" if scaled else ""),
        f"{crm_rows:,}",
        f"{crm_rows / anchor_rate:.2f}",
        f"{round(anchor_rate):,}",
    )
    console = Console()
    console.print(table)
    if scaled:
        console.print(
            f"* measured on {anchor_rows:,} rows ({anchor_seconds:.2f} s), scaled linearly"
        )
    console.print(
        f"generate_company writes all sources {result['speedup_all_files_vs_anchor_crm_only']}x "
        f"faster than the anchor writes the CRM file alone; "
        f"{result['rows_per_second_ratio']}x the rows per second"
    )
    console.print(
        f"generate_company: {cpu_seconds:.2f} s of CPU (user + system); "
        f"peak memory (max resident set): {peak_mib:,.0f} MiB"
    )
    console.print(f"command: .venv/bin/python {result['command']}")
    return result


if __name__ == "__main__":
    main()
