"""The API's own reference: /api/openapi.json and the same document as a page at /api/docs."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template
from flask.typing import ResponseReturnValue

from app.services import api_keys
from app.web.api import bp, openapi
from app.web.api.auth import public

_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
@public
def openapi_document() -> ResponseReturnValue:
    return jsonify(openapi.document())


def describe(schema: dict[str, Any]) -> str:
    """A schema in a few words, for the reference page: "integer, 10 to 86400, or null"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "allOf" in schema:
        return " + ".join(describe(part) for part in schema["allOf"])
    if "oneOf" in schema:
        return " or ".join(describe(part) for part in schema["oneOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    main = next((k for k in kinds if k != "null"), "null")
    text = main
    if main == "array":
        text = f"array of {describe(schema.get('items', {}))}"
    elif main == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = f"object of {describe(schema['additionalProperties'])}"
    if "format" in schema:
        text += f" ({schema['format']})"
    if "enum" in schema:
        text += ": one of " + ", ".join(str(v) for v in schema["enum"])
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        text += f", {low} to {high}"
    elif low is not None:
        text += f", at least {low}"
    if "maxLength" in schema:
        text += f", at most {schema['maxLength']} characters"
    if "null" in kinds and main != "null":
        text += ", or null"
    return text


def _properties(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "type": describe(prop),
            "required": name in required,
            "note": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _schema_of(response: dict[str, Any]) -> dict[str, Any]:
    """The schema of a response's content (each has one media type); {} when it has none."""
    for media in response.get("content", {}).values():
        return media.get("schema", {})
    return {}


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in _METHOD_ORDER:
            if method not in item:
                continue
            op = item[method]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            responses = [
                {
                    "status": status,
                    "description": response["description"],
                    "type": describe(_schema_of(response)),
                }
                for status, response in op["responses"].items()
            ]
            operations.append(
                {
                    "anchor": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "tag": op["tags"][0],
                    "description": op.get("description", ""),
                    "scope": op.get("x-required-scope"),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "type": describe(p["schema"]),
                            "note": p.get("description", ""),
                        }
                        for p in [*shared, *op.get("parameters", [])]
                    ],
                    "body": describe(body["schema"]) if body else None,
                    "responses": responses,
                }
            )
    return operations


@bp.get("/docs")
@public
def reference() -> ResponseReturnValue:
    document = openapi.document()
    schemas = {
        name: _properties(schema) if "properties" in schema else describe(schema)
        for name, schema in document["components"]["schemas"].items()
    }
    return render_template(
        "api/docs.html",
        document=document,
        operations=_operations(document),
        schemas=schemas,
        resources=api_keys.RESOURCES,
    )
