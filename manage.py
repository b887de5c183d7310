#!/usr/bin/env python
"""Conduit's command line: `python manage.py -c Test test`, `db upgrade`, `run`, `shell`, ..."""

import fnmatch
import gc
import os
import sys
from itertools import pairwise
from pathlib import Path

import click
from flask.cli import FlaskGroup

from config import CONFIG_ENV_VAR

PROJECT_ROOT = Path(__file__).resolve().parent
# pytest-xdist worker processes for a run: most real-process tests wait rather than compute, so
# more workers than this machine's 2 cores pay off; `-n 0` (or any -n given) overrides it.
TEST_PROCESSES = "4"
# The API and unit tests alone (`-m "not system"`) compute: a worker a core, since each worker
# costs some 2 s of CPU to start (it imports the app and every test module).
API_TEST_PROCESSES = str(min(os.cpu_count() or 2, 4))


def build_app():
    from app import create_app

    app = create_app(os.environ.get(CONFIG_ENV_VAR))
    # It lives as long as the command: the collector need not walk it again, at exit either
    # (gunicorn.conf.py's post_fork).
    gc.freeze()
    return app


def choose_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ[CONFIG_ENV_VAR] = value.lower()


@click.group(cls=FlaskGroup, create_app=build_app)
@click.option(
    "-c",
    "--config",
    callback=choose_config,
    expose_value=False,
    is_eager=True,
    help="Config to use: Development, Test or Production (default: $CONDUIT_CONFIG).",
)
def cli() -> None:
    """Manage the Conduit service."""


def matching_test_files(directory: Path, pattern: str) -> list[str]:
    """Test files under `directory` whose name matches `pattern` (`.py` optional)."""
    if not pattern.endswith(".py"):
        pattern += ".py"
    return sorted(
        str(path) for path in directory.rglob("*.py") if fnmatch.fnmatch(path.name, pattern)
    )


@cli.command(
    "test",
    with_appcontext=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.option("-s", "--start", "directory", default="tests", help="Folder of tests to run.")
@click.option("-p", "--pattern", default=None, help="Run only files matching, e.g. test_users.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test_command(directory: str, pattern: str | None, pytest_args: tuple[str, ...]) -> None:
    """Run the tests with pytest; arguments after the options go to pytest."""
    import pytest

    folder = Path(directory)
    if not folder.is_dir():
        raise click.UsageError(f"test folder {directory!r} does not exist")
    targets = [str(folder)]
    if pattern:
        targets = matching_test_files(folder, pattern)
        if not targets:
            raise click.UsageError(f"no test file in {directory!r} matches {pattern!r}")
    os.environ.setdefault(CONFIG_ENV_VAR, "test")
    write_bytecode_caches()
    sys.exit(pytest.main([*targets, *parallel_options(pytest_args), *pytest_args]))


def write_bytecode_caches() -> None:
    """Let this run and every process it starts keep compiled modules in `__pycache__`
    (git-ignored) even where PYTHONDONTWRITEBYTECODE is set: the suite starts some hundred
    Python processes (pytest's workers, gunicorn, Celery, manage.py), and each would compile the
    project's modules and rewrite the test modules again, about 1.3 s of CPU per pytest worker
    and 0.2 s per process that loads the app."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def parallel_options(pytest_args: tuple[str, ...]) -> list[str]:
    """`-n TEST_PROCESSES` (API_TEST_PROCESSES when system tests are deselected) unless the
    arguments choose their own number of processes."""
    if any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    markers = [expression for option, expression in pairwise(pytest_args) if option == "-m"]
    if markers and all("not system" in expression for expression in markers):
        return ["-n", API_TEST_PROCESSES]
    return ["-n", TEST_PROCESSES]


@cli.command("deploy", with_appcontext=False)
@click.option(
    "--config",
    "gunicorn_config",
    # Not resolved: run through the `current` symlink, this is the new release's file.
    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "gunicorn.conf.py"),
    show_default=True,
    help="The gunicorn.conf.py the service runs with (pidfile, bind, proc_name, timeouts).",
)
@click.option("--pidfile", default=None, help="The master's pidfile (default: from --config).")
@click.option("--url", default=None, help="The /healthz URL (default: from the config's bind).")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the outcome.")
@click.option("--expect-version", default=None, help="Fail unless /healthz then reports it.")
def deploy_command(
    gunicorn_config: str,
    pidfile: str | None,
    url: str | None,
    timeout: float | None,
    expect_version: str | None,
) -> None:
    """Replace the running gunicorn master with USR2 and wait for the outcome.

    Exits 0 once the new master's workers answer /healthz and the old master is gone; 1 when
    the deploy failed and the old master keeps serving (the reason is printed); 2 when nothing
    was sent; 3 when the outcome is unclear (timed out, or another version is served).
    """
    from deploy.command import Target, deploy

    target = Target.from_gunicorn_config(gunicorn_config, pidfile, url, timeout)
    sys.exit(deploy(target, expect_version=expect_version, say=click.echo))


if __name__ == "__main__":
    cli()
