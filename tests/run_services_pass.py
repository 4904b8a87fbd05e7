"""Run the suite against PostgreSQL and Redis, as a scaled-out deployment runs.

Without the services this pass is skipped with a reason, unless REQUIRE_SERVICES=1 (CI),
where their absence fails the run.
"""

from __future__ import annotations

import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.services import reachable

DATABASE = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbox")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def main() -> int:
    missing = [
        name
        for name, url, port in (("PostgreSQL", DATABASE, 5432), ("Redis", REDIS, 6379))
        if not reachable(url, port)
    ]
    if missing:
        message = f"services pass: {' and '.join(missing)} not reachable"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            print(f"{message}, and REQUIRE_SERVICES=1: failing.", file=sys.stderr)
            return 1
        print(f"{message}: pass skipped.")
        return 0
    # A database and key prefix of its own, so that two runs on one machine never collide.
    run = secrets.token_hex(4)
    env = {
        **os.environ,
        "DATABASE_URL": f"{DATABASE.rstrip('/').rsplit('/', 1)[0]}/chatbox_{run}",
        "REDIS_URL": REDIS,
        "KEY_PREFIX": f"chatbox-test-{run}",
        "FAST_PASSWORD_HASHER": "1",
        # The test process closes its connections after each use: a connection kept by one of
        # asgiref's threads would outlive the tests and stop pytest-django from dropping the
        # test database. The daphne servers the live tests start keep theirs, as production.
        "DATABASE_CONN_MAX_AGE": "0",
    }
    print(f"services pass: PostgreSQL + Redis (run {run})", flush=True)
    os.execvpe(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
