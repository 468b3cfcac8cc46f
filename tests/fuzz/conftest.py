"""The fuzz tier's marker and its tallies, printed at the end of every pytest run that includes it."""

from __future__ import annotations

import json

from tests.fuzz import harness


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: mutated model files through the CLI (tests/fuzz)")


def pytest_terminal_summary(terminalreporter):
    tallies = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            for key, value in getattr(rep, "user_properties", []) or []:
                if key == "fuzz_tally" and getattr(rep, "when", "call") == "call":
                    tallies.append(json.loads(value))
    if not tallies:
        return
    terminalreporter.section("fuzz tallies (tests/fuzz)")
    terminalreporter.write_line(harness.render(harness.merge(tallies), "all formats"))
