"""Real-time decisions in process and over HTTP, beside their plain anchors in the same run.

The workspace is a demo company built with ``build_demo`` in a temporary folder (or the one
given with ``--workspace``; its ledger gets the benchmark's decisions). Requests alternate
between the shipped flows, retention by e-mail and next best offer on the web, over the
customers of the online snapshot in a shuffled order; each customer gets each flow once
before any customer gets a flow twice.

In process (``DecisionService.decide``, warm-up first; the ledger entry, the decision row and
its contact are written inside ``decide``, as in production):
  anchor  ``Ledger.append`` of the payload and personal data of one of the run's decisions,
          in a scratch workspace on the same disk (no decision row, no contact, no reads)
  anchor  a Python dict lookup of a customer's online features
  shown   ``FeatureService.online``: the feature lookup ``decide`` itself makes

Over HTTP (open loop: request i is due at start + i / rate whether or not earlier ones have
answered, and its latency runs from that due time, so queueing in the server or the client is
not hidden by a client that waits; a minimal asyncio HTTP/1.1 client over kept-alive
connections, one process, so the load generator takes little of the CPU the servers share):
  aimsight  ``POST /v1/decisions`` on ``aimsight serve --workers 2`` (one process per core
            of these machines; ``--workers`` changes it)
  anchor    a bare FastAPI app, one ``POST`` route returning a constant, same uvicorn settings
  check     the ledger's new ``decision.made`` entries equal aimsight's 2xx answers

Run:  .venv/bin/python bench/decide.py [--workspace PATH] [--customers 2000] [--decisions 4000]
                                       [--seconds 60] [--rate 300] [--connections 64]
                                       [--no-http] [--profile] [--logs DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aimsight.core import Workspace
from aimsight.decide import DecisionRequest, DecisionService
from aimsight.demo import build_demo
from aimsight.features import FeatureService
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store

ACTOR = "bench:decide"
FLOWS = (("retention", "email"), ("next_best_offer", "web"))
AIM_P99_MS = 2.0
HTTP_WARMUP_SECONDS = 5.0
BARE_ANSWER = {"decision_id": "dec_bare", "actions": [], "fallback": True}


# -- shared -------------------------------------------------------------------------------------


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean of ``values`` (milliseconds), rounded to microseconds."""
    data = np.asarray(values, dtype=float)
    p50, p95, p99 = np.percentile(data, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(data.max()), 3),
        "mean_ms": round(float(data.mean()), 3),
    }


def _requests(customers: Sequence[str], count: int) -> list[tuple[str, str, str]]:
    """(flow, customer, channel) for ``count`` requests: flows alternate, and a customer's
    second visit in a cycle gets the other flow."""
    n = len(customers)
    found = []
    for i in range(count):
        flow, channel = FLOWS[(i + i // n) % len(FLOWS)]
        found.append((flow, customers[i % n], channel))
    return found


def _progress(console: Console) -> Progress:
    """A progress display refreshed only when told, so no refresh thread competes with the
    timed work for the GIL."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
        transient=True,
    )


# -- the workspace ------------------------------------------------------------------------------


@contextmanager
def _workspace(path: str | None, customers: int, seed: int, console: Console) -> Iterator[Path]:
    """The workspace to measure: the one given, or a fresh demo in a temporary folder."""
    if path is not None:
        yield Path(path).expanduser().resolve()
        return
    with tempfile.TemporaryDirectory(prefix="aimsight-bench-decide-") as tmp:
        root = Path(tmp) / "demo"
        with console.status(f"building a {customers:,}-customer demo workspace"):
            build_demo(root, customers=customers, seed=seed, console=Console(quiet=True))
        yield root


def _customers(workspace: Workspace, seed: int) -> list[str]:
    with Store.open(workspace) as store:
        features = FeatureService(workspace, store, Ledger.open(workspace, store))
        _, frame = features.online_frame()
    customers = sorted(str(c) for c in frame["customer_id"].tolist())
    random.Random(seed).shuffle(customers)
    return customers


# -- in process ---------------------------------------------------------------------------------


@dataclass
class InProcess:
    latencies_ms: list[float] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)
    fallbacks: int = 0
    reviews: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    sample_seq: int = 0
    feature_lookups_ms: list[float] = field(default_factory=list)
    dict_lookup_ns: float = 0.0
    profile: str | None = None


def _in_process(
    workspace: Workspace,
    requests: Sequence[tuple[str, str, str]],
    warmup: int,
    progress: Progress,
    profile: bool,
) -> InProcess:
    result = InProcess()
    with Store.open(workspace) as store:
        store.checkpoint_in_background()  # as `aimsight serve` does
        ledger = Ledger.open(workspace, store)
        features = FeatureService(workspace, store, ledger)
        service = DecisionService(workspace, store, ledger, features=features)
        installed = service.install_example_flows()
        if installed:
            service.reload()
        try:
            service.warm()
            gc.collect()  # as `aimsight serve` does once warm: the loaded state is
            gc.freeze()  # left out of the collector's sweeps
            made = [
                DecisionRequest(flow=flow, customer_id=customer, channel=channel)
                for flow, customer, channel in requests
            ]
            task = progress.add_task("in process: warm-up", total=warmup)
            for request in made[:warmup]:
                service.decide(request, actor=ACTOR)
            progress.update(task, completed=warmup, refresh=True)
            measured = made[warmup:]
            task = progress.add_task("in process: decide", total=len(measured))
            for index, request in enumerate(measured):
                started = time.perf_counter_ns()
                decision = service.decide(request, actor=ACTOR)
                elapsed = (time.perf_counter_ns() - started) / 1e6
                result.latencies_ms.append(elapsed)
                path = "fallback" if decision.fallback else "personalised"
                result.by_path.setdefault(path, []).append(elapsed)
                result.fallbacks += decision.fallback
                result.reviews += decision.human_review
                reason = (decision.fallback_reason or "").split(":", 1)[0]
                if decision.human_review:
                    reason = "human_review"
                result.reasons[f"{request.flow}: {reason or 'personalised'}"] += 1
                result.sources.update(str(m.get("source")) for m in decision.models)
                result.sample_seq = decision.ledger_seq
                if index % 250 == 0:
                    progress.update(task, completed=index, refresh=True)
            progress.update(task, completed=len(measured), refresh=True)
            if profile:
                result.profile = _profile(service, made[warmup:][:1000])
            customers = sorted({customer for _, customer, _ in requests})
            for customer in customers[:2000]:
                started = time.perf_counter_ns()
                features.online(customer)
                result.feature_lookups_ms.append((time.perf_counter_ns() - started) / 1e6)
            _, frame = features.online_frame()
            rows = {str(r["customer_id"]): r for r in frame.to_dict(orient="records")}
            keys = [customers[i % len(customers)] for i in range(200_000)]
            started = time.perf_counter_ns()
            for key in keys:
                rows[key]
            result.dict_lookup_ns = (time.perf_counter_ns() - started) / len(keys)
        finally:
            gc.unfreeze()
            service.close()
    return result


def _profile(service: DecisionService, requests: Sequence[DecisionRequest]) -> str:
    """cProfile of ``requests`` decided again: where the time of a decision goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests:
        service.decide(request, actor=ACTOR)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def _ledger_anchor(
    workspace: Workspace, sample_seq: int, count: int, scratch: Path, progress: Progress
) -> list[float]:
    """``Ledger.append`` of a decision's payload and personal data, ``count`` times, in a
    scratch workspace on the same disk as the measured one."""
    with Store.open(workspace) as store:
        entry = Ledger.open(workspace, store).get(sample_seq, include_personal=True)
    anchor = Workspace.create(scratch)
    latencies: list[float] = []
    with Store.open(anchor) as store:
        store.checkpoint_in_background()  # the same store settings as the decisions
        ledger = Ledger.open(anchor, store)
        for _ in range(200):  # warm-up
            ledger.append(entry.kind, actor=ACTOR, subject=entry.subject, payload=entry.payload)
        task = progress.add_task("anchor: ledger append", total=count)
        for index in range(count):
            started = time.perf_counter_ns()
            ledger.append(
                entry.kind,
                actor=ACTOR,
                subject=entry.subject,
                payload=entry.payload,
                personal=entry.personal,
            )
            latencies.append((time.perf_counter_ns() - started) / 1e6)
            if index % 250 == 0:
                progress.update(task, completed=index, refresh=True)
        progress.update(task, completed=count, refresh=True)
    return latencies


# -- over HTTP ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One open-loop run against one server."""

    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float
    sent_seconds: float
    failures: Counter[str]

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def summary(self) -> dict[str, Any]:
        total = len(self.latencies_ms)
        return {
            "requests": total,
            "ok": self.ok,
            "errors": total - self.ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "no_answer": dict(self.failures),
            "achieved_rate": round(total / self.seconds, 1),
            "sent_rate": round(total / self.sent_seconds, 1),
            **_quantiles(self.latencies_ms),
        }


class _Connection:
    """One kept-alive HTTP/1.1 connection speaking just enough of the protocol to POST a
    body and read a ``Content-Length`` answer.

    The load generator shares the two cores with the server it measures, so it must cost
    little: httpx spends about 1.5 ms of CPU a request, a third of what the server does,
    while this spends a tenth of that. Both servers (aimsight and the anchor) get the same.
    """

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        self._address = (host, port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        """Send ``body``; the answer's status code (its body is read and dropped)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(*self._address)
        assert self._reader is not None
        try:
            async with asyncio.timeout(60):
                self._writer.write(self._head + b"%d\r\n\r\n" % len(body) + body)
                head = await self._reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                fields = head.lower()
                start = fields.index(b"content-length:") + 15
                length = int(fields[start : fields.index(b"\r\n", start)])
                await self._reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if b"connection: close" in fields:
            self.close()
        return status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _drive(
    base: str,
    path: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    rate: float,
    seconds: float,
    connections: int,
    progress: Progress,
    label: str,
) -> Run:
    """Send ``rate * seconds`` requests on a fixed schedule over ``connections`` kept-alive
    connections; each latency runs from the request's due time to its answer, so time spent
    waiting for a free connection counts (transport errors count as status -1).

    Due requests wait in a plain FIFO queue for the next free connection, so the client's
    cost does not grow with the queue when the server falls behind.
    """
    count = int(rate * seconds)
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count
    failures: Counter[str] = Counter()
    task = progress.add_task(label, total=count)
    done = 0
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sent_headers = {**headers, "Content-Type": "application/json"}
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1

    async def connection() -> None:
        nonlocal done
        client = _Connection(host, int(port), path, sent_headers)
        while (item := await queue.get()) is not None:
            index, due = item
            try:
                statuses[index] = await client.post(bodies[index % len(bodies)])
            except (
                OSError,
                TimeoutError,
                ValueError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
            ) as exc:
                statuses[index] = -1
                failures[type(exc).__name__] += 1
            latencies[index] = (loop.time() - due) * 1000
            done += 1
        client.close()

    async def refresh() -> None:
        while done < count:
            progress.update(task, completed=done, refresh=True)
            await asyncio.sleep(0.5)

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    refresher = asyncio.create_task(refresh())
    for index in range(count):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((index, due))
    sent_seconds = loop.time() - start
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    finished = loop.time()
    await refresher
    progress.update(task, completed=count, refresh=True)
    return Run(latencies, Counter(statuses), finished - start, sent_seconds, failures)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(command: list[str], port: int, log: Path) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until the block ends; its output goes to
    ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"the server stopped at start-up; see {log}")
                try:
                    httpx.get(f"{base}/v1/health", timeout=1.0)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"the server did not start in 120 s; see {log}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _serve_bare(port: int, log_level: str) -> None:
    """The anchor server: one route returning a constant, with aimsight serve's uvicorn
    settings."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/decisions")
    def decide() -> dict[str, Any]:
        return BARE_ANSWER

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level=log_level)


def _decisions_made(workspace: Workspace, after_seq: int) -> int:
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        return len(ledger.entries(kind="decision.made", after_seq=after_seq, limit=10_000_000))


def _ledger_head(workspace: Workspace) -> int:
    with Store.open(workspace) as store:
        return Ledger.open(workspace, store).count()


def _http(
    workspace: Workspace,
    requests: Sequence[tuple[str, str, str]],
    rate: float,
    seconds: float,
    connections: int,
    logs: Path,
    progress: Progress,
    workers: int = 1,
) -> dict[str, Any]:
    """The bare anchor, then ``aimsight serve``, each warmed up for a few seconds and then
    driven at ``rate`` for ``seconds``; the ledger is checked against aimsight's answers."""
    with Store.open(workspace) as store:
        keys = ApiKeyService(store, audit=Ledger.open(workspace, store))
        _, key = keys.create(f"bench-decide-{int(time.time())}", Role.SERVICE, created_by=ACTOR)
    headers = {"Authorization": f"Bearer {key}"}
    bodies = [
        json.dumps({"flow": flow, "customer_id": customer, "channel": channel}).encode()
        for flow, customer, channel in requests
    ]
    log_level = workspace.settings.logging.level.lower()
    logs.mkdir(parents=True, exist_ok=True)

    def drive(base: str, auth: dict[str, str], name: str, span: float) -> Run:
        return asyncio.run(
            _drive(base, "/v1/decisions", bodies, auth, rate, span, connections, progress, name)
        )

    port = _free_port()
    bare_command = [sys.executable, __file__, "--serve-bare", str(port), "--log-level", log_level]
    with _server(bare_command, port, logs / "bare.log") as base:
        drive(base, {}, "bare FastAPI: warm-up", HTTP_WARMUP_SECONDS)
        bare = drive(base, {}, "bare FastAPI", seconds)
    port = _free_port()
    serve_command = [
        sys.executable,
        "-m",
        "aimsight",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workspace",
        str(workspace.root),
        "--workers",
        str(workers),
    ]
    with _server(serve_command, port, logs / "aimsight.log") as base:
        drive(base, headers, "aimsight: warm-up", HTTP_WARMUP_SECONDS)
        head = _ledger_head(workspace)
        ours = drive(base, headers, "aimsight", seconds)
    added = _decisions_made(workspace, head)
    summary, anchor = ours.summary(), bare.summary()
    return {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "workers": workers,
        "aimsight": summary,
        "bare": anchor,
        "p50_ratio": round(summary["p50_ms"] / anchor["p50_ms"], 2),
        "p99_ratio": round(summary["p99_ms"] / anchor["p99_ms"], 2),
        "ledger_decisions_added": added,
        "ledger_matches_2xx": added == ours.ok,
    }


# -- report -------------------------------------------------------------------------------------


def _report(results: dict[str, Any], console: Console) -> None:
    inproc = results["in_process"]
    table = Table(
        title=f"in process: {inproc['decisions']:,} decisions after "
        f"{inproc['warmup']:,} warm-up ({results['customers']:,} customers)"
    )
    for column in ("what", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms"):
        table.add_column(column, justify="left" if column == "what" else "right")

    def row(name: str, q: dict[str, float]) -> None:
        table.add_row(
            name, *(f"{q[k]:.3f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"))
        )

    row("DecisionService.decide (ledger write inside)", inproc["latency"])
    for path, values in inproc["latency_by_path"].items():
        row(f"  of which {values['decisions']:,} {path}", values)
    row("Ledger.append, same payload (anchor)", results["anchors"]["ledger_append"])
    row("FeatureService.online (inside decide)", results["anchors"]["feature_service_online"])
    console.print(table)
    ratios = results["ratios"]
    console.print(
        f"decide / ledger append: p50 {ratios['p50_decide_vs_append']}x, "
        f"p99 {ratios['p99_decide_vs_append']}x; dict lookup of online features (anchor) "
        f"{results['anchors']['dict_lookup_ns']:.0f} ns"
    )
    aim = "met" if inproc["latency"]["p99_ms"] <= AIM_P99_MS else "missed"
    console.print(f"aim p99 <= {AIM_P99_MS} ms: [bold]{aim}[/]")
    console.print(
        f"fallbacks {inproc['fallback_share']:.1%}, sent to review {inproc['review_share']:.1%}; "
        f"model scores by source {inproc['model_sources']}"
    )
    reasons = Table(title="outcomes of the measured decisions")
    reasons.add_column("flow: reason")
    reasons.add_column("decisions", justify="right")
    for name, count in sorted(inproc["reasons"].items(), key=lambda item: -item[1]):
        reasons.add_row(name, f"{count:,}")
    console.print(reasons)
    http = results.get("http")
    if http:
        table = Table(
            title=f"HTTP, open loop at {http['rate']:g} requests/s for {http['seconds']:g} s "
            f"(aimsight serve --workers {http['workers']})"
        )
        for column in (
            "server",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "achieved rate",
            "p99 vs bare",
        ):
            table.add_column(column, justify="left" if column == "server" else "right")
        for name, label in (("bare", "bare FastAPI (anchor)"), ("aimsight", "aimsight serve")):
            run = http[name]
            table.add_row(
                label,
                f"{run['p50_ms']:.2f}",
                f"{run['p99_ms']:.2f}",
                f"{run['max_ms']:.2f}",
                f"{run['errors']:,}",
                f"{run['achieved_rate']:.1f}/s",
                f"{http['p99_ratio']:,.2f}x" if name == "aimsight" else "1.00x",
            )
        console.print(table)
        for name in ("bare", "aimsight"):
            if http[name]["errors"]:
                statuses = ", ".join(f"{k}: {v:,}" for k, v in http[name]["statuses"].items())
                console.print(f"{name} answers by status (-1: no answer): {statuses}")
                if http[name]["no_answer"]:
                    console.print(f"{name} requests with no answer: {http[name]['no_answer']}")
        verdict = "equal" if http["ledger_matches_2xx"] else "[red]DIFFERENT[/]"
        console.print(
            f"ledger: {http['ledger_decisions_added']:,} decision.made entries for "
            f"{http['aimsight']['ok']:,} 2xx answers ({verdict})"
        )
    if inproc.get("profile"):
        console.print(inproc["profile"], markup=False, highlight=False)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # servers stop, folders go
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", help="measure this workspace instead of a fresh demo")
    parser.add_argument("--customers", type=int, default=2000, help="demo size")
    parser.add_argument("--decisions", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--connections", type=int, default=64, help="kept-alive connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of `aimsight serve` (default 2: one per core here)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument("--profile", action="store_true", help="cProfile 1,000 more decisions")
    parser.add_argument("--logs", help="keep the two servers' logs in this folder")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="info", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        _serve_bare(args.serve_bare, args.log_level)
        return
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 120)
    with (
        _workspace(args.workspace, args.customers, args.seed, console) as root,
        tempfile.TemporaryDirectory(prefix="aimsight-bench-scratch-") as tmp,
        _progress(console) as progress,
    ):
        scratch = Path(tmp)
        workspace = Workspace.open(root)
        customers = _customers(workspace, args.seed)
        requests = _requests(customers, args.warmup + args.decisions)
        inproc = _in_process(workspace, requests, args.warmup, progress, args.profile)
        append = _ledger_anchor(
            workspace, inproc.sample_seq, args.decisions, scratch / "anchor", progress
        )
        latency, appended = _quantiles(inproc.latencies_ms), _quantiles(append)
        results: dict[str, Any] = {
            "workspace": None if args.workspace is None else str(root),
            "customers": len(customers),
            "in_process": {
                "decisions": args.decisions,
                "warmup": args.warmup,
                "latency": latency,
                "latency_by_path": {
                    path: {"decisions": len(values), **_quantiles(values)}
                    for path, values in sorted(inproc.by_path.items())
                },
                "aim_p99_ms": AIM_P99_MS,
                "aim_met": latency["p99_ms"] <= AIM_P99_MS,
                "fallback_share": round(inproc.fallbacks / args.decisions, 4),
                "review_share": round(inproc.reviews / args.decisions, 4),
                "reasons": dict(inproc.reasons),
                "model_sources": dict(inproc.sources),
                "profile": inproc.profile,
            },
            "anchors": {
                "ledger_append": appended,
                "feature_service_online": _quantiles(inproc.feature_lookups_ms),
                "dict_lookup_ns": round(inproc.dict_lookup_ns, 1),
            },
            "ratios": {
                "p50_decide_vs_append": round(latency["p50_ms"] / appended["p50_ms"], 2),
                "p99_decide_vs_append": round(latency["p99_ms"] / appended["p99_ms"], 2),
            },
        }
        if not args.no_http:
            http_requests = _requests(customers, int(args.rate * args.seconds))
            results["http"] = _http(
                workspace,
                http_requests,
                args.rate,
                args.seconds,
                args.connections,
                Path(args.logs) if args.logs else scratch,
                progress,
                workers=args.workers,
            )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    _report(results, console)
    command = "bench/decide.py" + ("" if args.workspace is None else f" --workspace {root}")
    console.print(f"command: .venv/bin/python {command}", highlight=False)


if __name__ == "__main__":
    main()
