"""What the docs tests share: the operations of our document, requests to fill its paths."""

import re
from pathlib import Path

import yaml

SHARED_SPEC = Path(__file__).resolve().parents[1] / "realworld" / "openapi.yml"
METHODS = {"get", "post", "put", "patch", "delete"}
PARAMETER = re.compile(r"\{[^}]+\}")


def operations(document: dict) -> dict[tuple[str, str], dict]:
    """Each operation of an OpenAPI document, by (METHOD, path template)."""
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def realworld_spec() -> dict:
    with SHARED_SPEC.open(encoding="utf-8") as spec_file:
        return yaml.safe_load(spec_file)


def without_parameter_names(template: str) -> str:
    """`/articles/{slug}/comments/{id}` as `/articles/{}/comments/{}`: OpenAPI holds templates
    that differ only in their parameters' names to be the same path.
    """
    return PARAMETER.sub("{}", template)


def sample_path(template: str, operation: dict) -> str:
    """A request path for `template`: 1 for an integer parameter, a name that exists nowhere
    for the others.
    """
    types = {
        parameter["name"]: parameter["schema"].get("type")
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    return PARAMETER.sub(
        lambda match: "1" if types[match[0][1:-1]] == "integer" else "no-such-thing", template
    )
