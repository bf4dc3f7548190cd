"""`jobmock serve --store / --workers`: help texts and refusals (no server is started)."""

from __future__ import annotations

from click.testing import CliRunner

from mockserver.cli import main


def test_serve_help_names_the_stores_and_what_stays_per_process() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in ("--store URL", "memory:", "sqlite:PATH", "redis://HOST:PORT/DB",
                     "--workers", "own journal, faults and virtual clock", "--threads"):
        assert expected in text


def test_an_unknown_store_is_a_usage_error_listing_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["serve", "--store", "postgres://db", "--port", "0"])
    assert result.exit_code == 1
    assert "unknown store 'postgres://db'" in result.output and "sqlite:PATH" in result.output


def test_the_store_can_come_from_the_environment() -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--port", "0"],
                                env={"JOBMOCK_STORE": "memory:"})
    assert result.exit_code == 1 and "needs a store the processes share" in result.output
    result = CliRunner().invoke(main, ["serve", "--port", "0"],
                                env={"JOBMOCK_STORE": "sqlite:/nonexistent-dir/x.db"})
    assert result.exit_code == 1 and "unable to open database file" in result.output
