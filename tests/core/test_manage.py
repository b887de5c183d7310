"""manage.py: the test command's folder and pattern selection, pass-through, db create."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from app import create_app
from manage import API_TEST_PROCESSES, TEST_PROCESSES, cli, parallel_options
from tests.databases import database_exists, drop_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SAMPLE_TESTS = """
import pytest

def test_one():
    assert 1 + 1 == 2

@pytest.mark.system
def test_two():
    assert "two".upper() == "TWO"
"""


def manage(*args, cwd=PROJECT_ROOT):
    """Run manage.py; a test run of the sample tests is run in this one process (`-n 0`)."""
    if "test" in args:
        args = (*args, "-n", "0")
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )


@pytest.fixture
def sample_tests(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    (tmp_path / "test_other.py").write_text("def test_other():\n    assert False\n")
    return tmp_path


@pytest.mark.system
@pytest.mark.parametrize("pattern", ["test_sample", "test_sample.py"])
def test_a_pattern_with_or_without_py_selects_that_file(sample_tests, pattern):
    result = manage("-c", "Test", "test", "-s", str(sample_tests), "-p", pattern, "-p", pattern)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.system
def test_extra_arguments_pass_through_to_pytest(sample_tests):
    result = manage("-c", "Test", "test", "-s", str(sample_tests), "-p", "test_sample", "-k", "two")

    assert result.returncode == 0
    assert "1 passed, 1 deselected" in result.stdout


@pytest.mark.system
def test_a_marker_expression_selects_tests_by_marker(sample_tests):
    result = manage(
        "-c", "Test", "test", "-s", str(sample_tests), "-p", "test_sample", "-m", "not system"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in result.stdout


def test_the_tests_run_in_parallel_processes_unless_told_how_many():
    assert parallel_options(("-k", "login")) == ["-n", TEST_PROCESSES]
    assert parallel_options(("-n", "0")) == []
    assert parallel_options(("--numprocesses=2",)) == []
    assert parallel_options(("-m", "not system")) == ["-n", API_TEST_PROCESSES]
    assert parallel_options(("-m", "not system", "-n", "3")) == []
    assert parallel_options(("-m", "fleet")) == ["-n", TEST_PROCESSES]


@pytest.mark.system
def test_a_failing_test_makes_the_command_fail(sample_tests):
    result = manage("-c", "Test", "test", "-s", str(sample_tests), "-p", "test_other")

    assert result.returncode == 1
    assert "1 failed" in result.stdout


def test_an_unknown_folder_exits_non_zero_and_says_so(tmp_path):
    result = CliRunner().invoke(cli, ["test", "-s", str(tmp_path / "missing")])

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_pattern_matching_nothing_exits_non_zero(sample_tests):
    arguments = ["test", "-s", str(sample_tests), "-p", "test_nothing"]

    result = CliRunner().invoke(cli, arguments)

    assert result.exit_code == 2
    assert "no test file" in result.output


def test_db_create_creates_a_missing_database(app, monkeypatch, tmp_path):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        url = url.set(database=str(tmp_path / "created.sqlite"))
    else:
        url = url.set(database=f"{url.database}_create_check")
    monkeypatch.setenv("TEST_DATABASE_URL", url.render_as_string(hide_password=False))
    created_app = create_app("test")
    assert not database_exists(url)

    try:
        with created_app.app_context():
            result = CliRunner().invoke(
                created_app.cli, ["db", "create"], obj=_script_info(created_app)
            )
        assert result.exit_code == 0, result.output
        assert "created database" in result.output
        assert database_exists(url)
    finally:
        if database_exists(url):
            drop_database(url)


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
