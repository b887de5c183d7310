"""Every setting the code reads is listed in .env.example and in the README's table."""

import re

from tests.processes import PROJECT_ROOT

# environ.get("NAME"), os.environ["NAME"], env_flag("NAME", ...), os.getenv("NAME")
SETTING_READ = re.compile(
    r"""(?:environ(?:\.get)?[(\[]|env_flag\(|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']"""
)
READERS = [
    "config/*.py",
    "celeryconfig.py",
    "gunicorn.conf.py",
    "app/**/*.py",
    "blueprints/**/*.py",
    "deploy/*.py",
]
NOT_SETTINGS = {"NOTIFY_SOCKET"}  # set by systemd for its notify protocol, not by people


def settings_read_by_the_code() -> set[str]:
    names = set()
    for pattern in READERS:
        for path in PROJECT_ROOT.glob(pattern):
            names |= set(SETTING_READ.findall(path.read_text(encoding="utf-8")))
    return names - NOT_SETTINGS


def test_the_code_reads_settings_this_test_can_see():
    assert {"DATABASE_URL", "SENTRY_DSN", "CORS_ORIGINS", "GUNICORN_BIND"} <= (
        settings_read_by_the_code()
    )


def test_env_example_lists_every_setting():
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))

    assert sorted(settings_read_by_the_code() - listed) == []


def test_the_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| setting | default | meaning |") :]

    assert sorted(name for name in settings_read_by_the_code() if f"`{name}`" not in table) == []
