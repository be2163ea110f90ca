"""The toolkit's web API against the original document's naive app, on the same loads.

    python benchmarks/bench_api.py [--requests 300] [--concurrency 32] [--repeat 3]

Both apps (``africare_data.api`` and ``benchmarks/naive_app.py``) run as uvicorn servers, one
process each, on the configured PostgreSQL server (the embedded one, or
``SQLALCHEMY_DATABASE_URI``), each in a scratch database of its own: ours built by the migrations
(with the no-overlap rule), the naive one by its own ``create_all`` (no rule). Our pool is sized
to the concurrency through ``AFRICARE_POOL_SIZE``; the naive app keeps SQLAlchemy's default pool,
as the document does.

Four loads, each ``--requests`` requests, the two apps alternating (which one goes first alternates
too), each load ``--repeat`` times:

* ``sequential creates``: one POST /bookings/ at a time, no two overlapping;
* ``concurrent creates``: the same, ``--concurrency`` at once;
* ``agenda GETs``: GET /practitioners/{id}/bookings/ on the practitioners just booked, concurrently;
* ``mixed colliding``: concurrently, 70 % creates of 30-minute bookings at random quarter hours of
  a few practitioners (most collide), 15 % agenda GETs, 10 % confirmations, 5 % cancellations.

For each: throughput, client-side latency p50/p99, and CPU time per request of the server process
and of PostgreSQL (the postmaster and all its children, exited ones included, through psutil),
medians over the repeats; then the ratios ours / naive and the overlapping active bookings each
app's mixed runs left behind. Run it under ``flock /tmp/africare-bench.lock``. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import naive_app
import psutil
from sqlalchemy import text
from sqlalchemy.engine import URL

from africare_data import migrations
from africare_data.database import create_database, drop_database, make_engine, resolve_url

ROOT = Path(__file__).resolve().parent.parent
APPS = {
    "ours": ["africare_data.api:create_app", "--factory"],
    "naive": ["benchmarks.naive_app:app"],
}
LOADS = ("sequential creates", "concurrent creates", "agenda GETs", "mixed colliding")
MONDAY = datetime(2030, 3, 4, 8, tzinfo=UTC)
OVERLAPS = """
SELECT count(*) FROM bookings AS a JOIN bookings AS b
  ON a.practitioner_id = b.practitioner_id AND a.id < b.id
 AND a.start_time < b.end_time AND b.start_time < a.end_time
 WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""


@dataclass
class Server:
    """One app's uvicorn process and the database it writes to."""

    name: str
    url: URL
    process: subprocess.Popen[bytes]
    base: str
    booked_practitioners: list[int] = field(default_factory=list)


@dataclass
class Run:
    """One load on one app: what it cost."""

    requests: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    database_cpu: float
    statuses: dict[int, int]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(name: str, url: URL, concurrency: int) -> Server:
    port = free_port()
    environment = dict(
        os.environ,
        SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
        AFRICARE_POOL_SIZE=str(concurrency),
        AFRICARE_MAX_OVERFLOW="0",
    )
    command = [sys.executable, "-m", "uvicorn", *APPS[name], "--port", str(port)]
    # Keep idle connections as long as the client does: a load waits for the other app's run.
    command += ["--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "300"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    return Server(name, url, process, f"http://127.0.0.1:{port}")


async def wait_ready(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base) as client:
        for _ in range(300):
            try:
                if (await client.get("/practitioners/1/bookings/")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the {server.name} app did not start")


def postgres_cpu(postmaster: psutil.Process) -> float:
    """CPU seconds of the server so far: the postmaster, its live children, its reaped ones."""
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def process_cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def booking(practitioner: int, start: datetime, minutes: int = 30) -> dict[str, object]:
    return {
        "practitioner_id": practitioner,
        "patient_id": random.randint(1, 10_000),
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=minutes)).isoformat(),
    }


Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def creates(first_practitioner: int, count: int) -> list[Request]:
    """``count`` bookings, none overlapping: 50 practitioners, one hour apart."""
    requests: list[Request] = []
    for n in range(count):
        body = booking(first_practitioner + n % 50, MONDAY + timedelta(hours=n // 50))
        requests.append(lambda client, body=body: client.post("/bookings/", json=body))
    return requests


def agenda(practitioner: int) -> Request:
    return lambda client: client.get(f"/practitioners/{practitioner}/bookings/")


def agendas(practitioners: list[int], count: int) -> list[Request]:
    return [agenda(practitioners[n % len(practitioners)]) for n in range(count)]


def mixed(first_practitioner: int, count: int, created: list[int]) -> list[Request]:
    """Colliding creates of 5 practitioners over 40 quarter hours, agendas, status changes."""
    rng = random.Random(first_practitioner)
    requests: list[Request] = []

    async def create(client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
        response = await client.post("/bookings/", json=body)
        if response.status_code == 201:
            created.append(response.json()["id"])
        return response

    async def change(client: httpx.AsyncClient, verb: str, pick: float) -> httpx.Response:
        if not created:
            return await client.get(f"/practitioners/{first_practitioner}/bookings/")
        return await client.post(f"/bookings/{created[int(pick * len(created))]}/{verb}")

    for _ in range(count):
        practitioner = first_practitioner + rng.randrange(5)
        roll = rng.random()
        if roll < 0.70:
            start = MONDAY + timedelta(minutes=15 * rng.randrange(40))
            body = booking(practitioner, start)
            requests.append(lambda client, body=body: create(client, body))
        elif roll < 0.85:
            requests.append(agenda(practitioner))
        else:
            verb, pick = "confirm" if roll < 0.95 else "cancel", rng.random()
            requests.append(lambda client, v=verb, x=pick: change(client, v, x))
    return requests


async def run_load(
    server: Server, postmaster: psutil.Process, requests: list[Request], concurrency: int
) -> Run:
    process = psutil.Process(server.process.pid)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for request in queue:
                began = time.perf_counter()
                response = await request(client)
                latencies.append(time.perf_counter() - began)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        server_before, database_before = process_cpu(process), postgres_cpu(postmaster)
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
        server_after, database_after = process_cpu(process), postgres_cpu(postmaster)
    return Run(
        len(requests),
        seconds,
        latencies,
        server_after - server_before,
        database_after - database_before,
        statuses,
    )


async def count_overlaps(url: URL) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text(OVERLAPS))).scalar_one())
    finally:
        await engine.dispose()


async def find_postmaster(url: URL) -> psutil.Process:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            backend = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            parent = psutil.Process(backend).parent()  # while the backend lives
    finally:
        await engine.dispose()
    if parent is None:
        raise RuntimeError("cannot find the PostgreSQL postmaster (is the server on this machine?)")
    return parent


@contextmanager
def servers(urls: dict[str, URL], concurrency: int) -> Iterator[dict[str, Server]]:
    started = {name: start(name, url, concurrency) for name, url in urls.items()}
    try:
        yield started
    finally:
        for server in started.values():
            server.process.terminate()
            server.process.wait(timeout=30)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(results: dict[tuple[str, str], list[Run]], overlaps: dict[str, list[int]]) -> None:
    print(
        f"{'load':<20} {'app':<6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'server CPU ms/req':>18} {'PG CPU ms/req':>14} {'total ms/req':>13}  statuses"
    )
    for load in LOADS:
        per_request: dict[str, tuple[float, float]] = {}
        for app in APPS:
            runs = results[(load, app)]
            rate = median([run.requests / run.seconds for run in runs])
            p50 = median([quantile(run.latencies, 0.50) * 1000 for run in runs])
            p99 = median([quantile(run.latencies, 0.99) * 1000 for run in runs])
            server = median([run.server_cpu / run.requests * 1000 for run in runs])
            database = median([run.database_cpu / run.requests * 1000 for run in runs])
            per_request[app] = (server, database)
            statuses: dict[int, int] = {}
            for run in runs:
                for status, seen in run.statuses.items():
                    statuses[status] = statuses.get(status, 0) + seen
            shown = " ".join(f"{status}:{seen}" for status, seen in sorted(statuses.items()))
            print(
                f"{load:<20} {app:<6} {rate:7.0f} {p50:7.2f} {p99:7.2f} "
                f"{server:18.3f} {database:14.3f} {server + database:13.3f}  {shown}"
            )
        (our_server, our_database), (naive_server, naive_database) = (
            per_request["ours"],
            per_request["naive"],
        )
        print(
            f"{'':<20} ours / naive CPU per request: server x{our_server / naive_server:.2f}, "
            f"PostgreSQL x{our_database / naive_database:.2f}, "
            f"total x{(our_server + our_database) / (naive_server + naive_database):.2f}"
        )
    for app in APPS:
        print(f"overlapping active bookings left by the mixed runs, {app}: {overlaps[app]}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per load and run")
    parser.add_argument("--concurrency", type=int, default=32, help="requests at once")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each load and app")
    args = parser.parse_args()

    server_url = resolve_url()
    suffix = uuid.uuid4().hex[:8]
    names = {app: f"bench_api_{app}_{suffix}" for app in APPS}
    urls = {app: await create_database(name, url=server_url) for app, name in names.items()}
    try:
        ours = make_engine(urls["ours"])
        try:
            await migrations.upgrade(ours)
        finally:
            await ours.dispose()
        naive = make_engine(urls["naive"])
        try:
            async with naive.begin() as connection:
                await connection.run_sync(naive_app.Base.metadata.create_all)
        finally:
            await naive.dispose()
        postmaster = await find_postmaster(urls["ours"])
        results: dict[tuple[str, str], list[Run]] = {
            (load, app): [] for load in LOADS for app in APPS
        }
        overlaps: dict[str, list[int]] = {app: [] for app in APPS}
        with servers(urls, args.concurrency) as running:
            for server in running.values():  # warm: every pooled connection, every statement
                await wait_ready(server)
                for warm_up in (
                    creates(900_000, 4 * args.concurrency),
                    agendas(list(range(900_000, 900_050)), 4 * args.concurrency),
                    mixed(900_100, 4 * args.concurrency, []),
                ):
                    await run_load(server, postmaster, warm_up, args.concurrency)
            for repeat in range(args.repeat):
                order = list(APPS) if repeat % 2 == 0 else list(reversed(APPS))
                first = 1000 * (repeat + 1)
                for load in LOADS:
                    for app in order:
                        server = running[app]
                        if load == "sequential creates":
                            requests, concurrency = creates(first, args.requests), 1
                        elif load == "concurrent creates":
                            requests = creates(first + 100, args.requests)
                            concurrency = args.concurrency
                        elif load == "agenda GETs":
                            practitioners = list(range(first + 100, first + 150))
                            requests = agendas(practitioners, args.requests)
                            concurrency = args.concurrency
                        else:
                            requests = mixed(first + 200, args.requests, [])
                            concurrency = args.concurrency
                        run = await run_load(server, postmaster, requests, concurrency)
                        results[(load, app)].append(run)
            for app, url in urls.items():
                overlaps[app].append(await count_overlaps(url))
        print(
            f"{args.requests} requests per load and run, {args.concurrency} at once (sequential: "
            f"1), medians of {args.repeat} alternating runs; CPU per request in ms"
        )
        report(results, overlaps)
    finally:
        for name in names.values():
            await drop_database(name, url=server_url)


if __name__ == "__main__":
    asyncio.run(main())
