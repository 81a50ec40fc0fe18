"""What the HTTP API costs over calling the session directly, in one process.

Creates N customers, reads each back and runs paged finds, once through the
API (FastAPI's in-process test client kept open on one event loop: routing,
authentication, validation, JSON, one session per request) and once through
``crm.session()`` calls doing the same work one unit of work per operation
(the floor), on the same backend in the same run.
Prints operations per second for both and their ratio.

    python benchmarks/bench_api.py --n 500 --url memory://
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable

import crmcore
from crmcore import Customer, Principal

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

from crmcore.api import create_app


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="customers to create and read")
    parser.add_argument("--url", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--page", type=int, default=50, help="page size of the finds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        crm = crmcore.connect(url)
        system = Principal.system_principal("bench")
        app = create_app(crm, {"t": system})
        client = TestClient(app, headers={"Authorization": "Bearer t"})
        client.__enter__()  # one event loop for the whole run, as a server has
        n = args.n
        bodies = [
            {"first_name": f"N{i}", "last_name": "张", "phone": f"138{i:08d}"} for i in range(n)
        ]
        ids: list[str] = []

        def api_create() -> None:
            for body in bodies:
                ids.append(client.post("/customers", json=body).json()["id"])

        def api_get() -> None:
            for id in ids:
                client.get(f"/customers/{id}")

        def api_find() -> None:
            after = None
            while True:
                page = client.post(
                    "/customers/find", json={"limit": args.page, "after": after}
                ).json()
                after = page["next_cursor"]
                if after is None:
                    break

        direct_ids: list[object] = []

        def direct_create() -> None:
            for body in bodies:
                with crm.session(Principal.system_principal("bench2")) as s:
                    direct_ids.append(s.customers.add(Customer(**body)).id)

        def direct_get() -> None:
            for id in direct_ids:
                with crm.session(Principal.system_principal("bench2")) as s:
                    s.customers.get(id)  # type: ignore[arg-type]

        def direct_find() -> None:
            after = None
            while True:
                with crm.session(Principal.system_principal("bench2")) as s:
                    page = s.customers.find(limit=args.page, after=after)
                after = page.next_cursor
                if after is None:
                    break

        print(f"backend {url.split(':', 1)[0]}, n={n}, page={args.page}")
        print(f"{'operation':<10} {'api ops/s':>12} {'direct ops/s':>13} {'api/direct':>11}")
        for label, api_fn, direct_fn, ops in (
            ("create", api_create, direct_create, n),
            ("get", api_get, direct_get, n),
            ("find page", api_find, direct_find, max(1, -(-n // args.page))),
        ):
            t_api = _timed(api_fn)
            t_direct = _timed(direct_fn)
            ratio = t_direct / t_api
            print(f"{label:<10} {ops / t_api:>12.0f} {ops / t_direct:>13.0f} {ratio:>11.2f}")
        client.__exit__(None, None, None)
        crm.close()


if __name__ == "__main__":
    main()
