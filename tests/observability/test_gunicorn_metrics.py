"""The gunicorn hooks of deploy/metrics.py: the multiprocess folder is emptied on a cold start
only, and an exited worker's live gauges go while its counters stay."""

from types import SimpleNamespace

import pytest

from deploy import metrics


@pytest.fixture
def metric_files(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROCESS_DIR, str(tmp_path))
    names = ["counter_101.db", "histogram_101.db", "gauge_livesum_101.db", "gauge_livesum_102.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"\0" * 8)
    return tmp_path


def present(folder):
    return sorted(path.name for path in folder.iterdir())


def test_a_cold_start_empties_the_folder(metric_files):
    metrics.on_starting(SimpleNamespace(master_pid=0))

    assert present(metric_files) == []


def test_a_usr2_deploy_keeps_the_old_workers_counts(metric_files):
    before = present(metric_files)

    metrics.on_starting(SimpleNamespace(master_pid=4242))  # started by the old master

    assert present(metric_files) == before


def test_an_exited_worker_is_no_longer_alive_but_its_counts_stay(metric_files):
    metrics.child_exit(SimpleNamespace(), SimpleNamespace(pid=101))

    assert present(metric_files) == ["counter_101.db", "gauge_livesum_102.db", "histogram_101.db"]


def test_without_metrics_the_hooks_touch_nothing(metric_files, monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROCESS_DIR)
    before = present(metric_files)

    metrics.on_starting(SimpleNamespace(master_pid=0))
    metrics.child_exit(SimpleNamespace(), SimpleNamespace(pid=101))

    assert present(metric_files) == before


@pytest.mark.parametrize(
    ("bind", "host", "port"),
    [
        ("127.0.0.1:9100", "127.0.0.1", 9100),
        ("[::1]:9100", "::1", 9100),
        (":9100", "0.0.0.0", 9100),
    ],
)
def test_a_bind_is_a_host_and_a_port(bind, host, port):
    assert metrics.split_bind(bind) == (host, port)
