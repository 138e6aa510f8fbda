"""Measure the qualys_customer fixture: N tests (a parametrised test) that each get a fresh
customer, run by pytest with the installed plugin. Prints the fixture's set-up time per test
(mean, median, p95, max, the first and last 100) and the whole run's wall time.

    python python/bench_fixture.py            # 1,000 tests
    python python/bench_fixture.py --count 200 --template none

Run it with the interpreter of a virtualenv where the qualys-mock wheel is installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time

import pytest

TEST_FILE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.parametrize("n", range({count}))
    def test_gets_a_fresh_customer(qualys_customer, n):
        assert qualys_customer.username and qualys_customer.password
    """
)

CONFTEST = textwrap.dedent(
    """
    import pytest

    @pytest.fixture(scope="session")
    def qualys_customer_template():
        return {template!r}
    """
)


class FixtureTimer:
    def __init__(self) -> None:
        self.setups: list = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        started = time.perf_counter()
        yield
        if fixturedef.argname == "qualys_customer":
            self.setups.append(time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--template", default="Acme", help="seeded customer to copy, or 'none' for empty ones"
    )
    opts = parser.parse_args()
    template = None if opts.template.lower() == "none" else opts.template
    timer = FixtureTimer()
    with tempfile.TemporaryDirectory(prefix="qualys-mock-bench-") as tmp:
        with open(os.path.join(tmp, "test_bench.py"), "w") as f:
            f.write(TEST_FILE.format(count=opts.count))
        with open(os.path.join(tmp, "conftest.py"), "w") as f:
            f.write(CONFTEST.format(template=template))
        started = time.perf_counter()
        code = pytest.main(
            [tmp, "-q", "-p", "no:cacheprovider", "--rootdir", tmp, "-o", "console_output_style=classic"],
            plugins=[timer],
        )
        wall = time.perf_counter() - started
    t = sorted(timer.setups)
    if code != 0 or len(t) != opts.count:
        print(f"pytest exited {code} after {len(t)} fixture set-ups", file=sys.stderr)
        return 1
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    p95 = t[min(len(t) - 1, int(len(t) * 0.95))]
    first, last = timer.setups[:100], timer.setups[-100:]
    print()
    print(f"qualys_customer over {opts.count} tests (copy of {template or 'nothing'}):")
    print(f"  per test: mean {ms(statistics.mean(t))}, median {ms(statistics.median(t))}, "
          f"p95 {ms(p95)}, max {ms(t[-1])}")
    print(f"  first 100 mean {ms(statistics.mean(first))}, last 100 mean {ms(statistics.mean(last))}")
    print(f"  fixture total {sum(t):.1f} s; whole run (incl. server start) {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
