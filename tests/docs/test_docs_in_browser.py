"""The docs page in a real browser: headless Chromium loads /api/docs from the app served on
127.0.0.1, and Swagger UI shows every operation of /api/openapi.json, with no request leaving
the server.

Needs Debian's `chromium` and `chromium-driver`; skipped without them, except in CI ($CI set),
where .ci/run installs them and this test must run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from app.openapi import openapi_document
from tests.docs.support import operations

if TYPE_CHECKING:
    from selenium import webdriver

pytestmark = pytest.mark.system

PAGE_TIMEOUT_SECONDS = 60
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_paths() -> tuple[str, str]:
    """Chromium and chromedriver; a skip without them, a failure in CI."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    missing = "headless Chromium is not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run the browser test")
    pytest.skip(missing)


@pytest.fixture
def server_url(app) -> Iterator[str]:
    """The app served by a real HTTP server on a free 127.0.0.1 port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    # Imported here, as WebDriverWait below: 0.4 s of CPU that every pytest worker would pay.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = chromium_paths()
    with tempfile.TemporaryDirectory(prefix="conduit-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()


# Read in the page in one call: a WebDriver call per element would be two round trips per
# operation.
SHOWN_OPERATIONS = """
return Array.from(document.querySelectorAll('.opblock'), block => [
    block.querySelector('.opblock-summary-method').innerText.trim(),
    block.querySelector('.opblock-summary-path').getAttribute('data-path'),
]);
"""


def shown_operations(browser) -> set[tuple[str, str]]:
    """(METHOD, path) of each operation Swagger UI shows."""
    return {(method, path) for method, path in browser.execute_script(SHOWN_OPERATIONS)}


def test_docs_page_shows_every_operation_of_the_document(app, server_url, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    expected = set(operations(openapi_document(app)))

    browser.get(f"{server_url}/api/docs")
    WebDriverWait(browser, PAGE_TIMEOUT_SECONDS, poll_frequency=0.2).until(
        lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected)
    )

    assert shown_operations(browser) == expected
    assert browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper") == []
    assert "Conduit API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    requested = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert f"{server_url}/api/openapi.json" in requested
    assert [url for url in requested if not url.startswith(server_url + "/")] == []
