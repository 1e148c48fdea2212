"""Benchmarks: `make bench` runs every `tests/bench/bench_*.py` against a real local stack.

Each module defines `async def run(stack: LocalStack) -> dict[str, str]`; the runner prints
every result as `name=value` on its own line, so figures can be grepped and quoted with the
command that produced them. Record them in `docs/benchmarks.md` as measured on this machine.
"""
