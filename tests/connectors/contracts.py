"""The vendors' published OpenAPI contracts, read from ../shared/contracts/, as test oracles.

- ``Contract.example(path, method)``: the example response the vendor publishes;
- ``Contract.validate_response(path, method, body)``: JSON Schema check of a body
  against the operation's 200 response schema (OpenAPI 3.0 ``nullable`` honoured);
- ``Contract.request_problems(path, method, seen)``: what is wrong with a request our
  connector sent: undeclared or mistyped query parameters, missing required headers.

The folder is ``OPSVIEW_CONTRACTS`` if set, else ``shared/contracts`` beside the
repository (where CI and every worktree have it).
"""

import functools
import os
import re
from datetime import datetime
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = Path(os.environ.get("OPSVIEW_CONTRACTS") or REPO.parent / "shared" / "contracts")
SPEC_URI = "urn:opsview:spec"


class _NoTimestamps(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML without implicit timestamps: dates stay the strings the JSON API sends."""


_NoTimestamps.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _nullable(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: null added to the allowed types."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
        elif "$ref" in node:
            node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


def _typed(value, schema):
    """Whether a query-string value can be read as the parameter's schema type."""
    kind = schema.get("type", "string")
    if kind == "integer":
        return re.fullmatch(r"-?\d+", value) is not None
    if kind == "boolean":
        return value in ("true", "false")
    if kind == "array":
        return all(_typed(v, schema.get("items", {})) for v in value.split(","))
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
    return True


class Contract:
    """One vendor's OpenAPI document."""

    def __init__(self, relative_path: str):
        path = CONTRACTS / relative_path
        if not path.exists():
            raise FileNotFoundError(f"contract {path} is missing; shared/contracts must sit beside the repository")
        self.spec = yaml.load(path.read_text(), Loader=_NoTimestamps)  # noqa: S506 - a safe loader subclass
        self._registry = Registry().with_resource(SPEC_URI, Resource.from_contents(_nullable(self.spec), DRAFT4))

    def operation(self, path, method):
        return self.spec["paths"][path][method.lower()]

    def _response(self, path, method, status=200):
        responses = self.operation(path, method)["responses"]
        return (responses.get(status) or responses[str(status)])["content"]["application/json"]

    def example(self, path, method="get"):
        return self._response(path, method)["example"]

    def validate_response(self, path, method, body):
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the operation's 200 response schema."""
        ref = self._response(path, method)["schema"]["$ref"]
        validator = jsonschema.Draft4Validator({"$ref": f"{SPEC_URI}{ref}"}, registry=self._registry)
        validator.validate(body)

    def schema_of(self, name):
        return self.spec["components"]["schemas"][name]

    def _parameters(self, path, method):
        declared = []
        for param in self.spec["paths"][path].get("parameters", []) + self.operation(path, method).get(
            "parameters", []
        ):
            if "$ref" in param:
                param = self.spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
            declared.append(param)
        return declared

    def request_problems(self, path, method, seen, auth_headers=()):
        """Problems with a recorded request (``tests.connectors.localserver.Seen``) for this operation."""
        problems = []
        declared = self._parameters(path, method)
        query = {p["name"]: p for p in declared if p["in"] == "query"}
        for name, values in seen.query.items():
            if name not in query:
                problems.append(f"query parameter {name!r} is not in the contract of {method.upper()} {path}")
            elif not all(_typed(v, query[name].get("schema", {})) for v in values):
                problems.append(f"query parameter {name}={values} does not fit {query[name].get('schema')}")
        headers = {k.lower() for k in seen.headers}
        required = [p["name"] for p in declared if p["in"] == "header" and p.get("required")]
        for name in [*required, *auth_headers]:
            if name.lower() not in headers:
                problems.append(f"header {name!r} is missing")
        return problems


@functools.cache
def contract(relative_path: str) -> Contract:
    """A contract, loaded once per test session."""
    return Contract(relative_path)
