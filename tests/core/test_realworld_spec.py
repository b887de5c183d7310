"""The repository's copy of the RealWorld spec is the team's contract, unchanged."""

from pathlib import Path

import pytest

from tests.contract import SPEC_PATH

TEAM_COPY = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "openapi.yml"


@pytest.mark.skipif(not TEAM_COPY.exists(), reason="no ../shared beside this clone")
def test_the_vendored_spec_is_identical_to_the_shared_contract():
    assert SPEC_PATH.read_bytes() == TEAM_COPY.read_bytes()
