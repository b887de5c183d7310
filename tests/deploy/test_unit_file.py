"""deploy/conduit.service: what a USR2 deploy under systemd needs from it."""

from .harness import PROJECT_ROOT


def service_settings() -> dict[str, str]:
    settings, section = {}, None
    for line in (PROJECT_ROOT / "deploy" / "conduit.service").read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
    return settings


def test_the_unit_lets_a_new_master_announce_itself_and_reloads_with_usr2():
    settings = service_settings()

    assert settings["Type"] == "notify"
    assert settings["NotifyAccess"] == "all"
    assert settings["ExecReload"] == "/bin/kill -s USR2 $MAINPID"


def test_the_unit_starts_gunicorn_through_the_current_symlink():
    settings = service_settings()

    assert settings["WorkingDirectory"] == "/srv/conduit/current"
    assert settings["ExecStart"].endswith(" -c /srv/conduit/current/gunicorn.conf.py")


def test_stopping_leaves_workers_their_graceful_timeout():
    settings = service_settings()

    assert settings["KillMode"] == "mixed"  # TERM to the master, which stops its workers
    assert int(settings["TimeoutStopSec"]) > 30  # graceful_timeout
