"""The CSV and YAML shapes of a CMDB import/export file, to and from plain records.

YAML::

    version: 1
    cis:
      - class: network_device
        name: township-router-03
        external_id: tr-03            # optional; with source, the CI's identity
        source: import                # optional (default "import")
        site: 城关镇卫生院              # a site's name, or ext:SOURCE:EXTERNAL_ID
        owner_group: network          # a group's name
        criticality: high
        lifecycle: active
        tags: [township, wan]
        management_address: 10.20.3.1
        description: ""
        attributes: {vendor: Huawei, model: AR2220}
    relationships:
      - {from: "network_device:cpe-0001", relation: connected_to, to: "ext:import:tr-03"}

CSV: one file, one header row; a ``kind`` column says ``ci`` (the default) or
``relationship``; class attributes are ``attributes.<name>`` columns; ``tags`` are
separated by ``;``; a list or mapping attribute is written as JSON; an empty cell means
"not given". UTF-8 (with or without BOM) is read, and GB18030/GBK as saved by a Chinese
Excel.

Every record carries ``row``: the line of the file where it starts (the CSV header is
line 1), which is what import errors point at.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from itsm_core.cmdb.choices import BulkFormat
from itsm_core.errors import ValidationFailed

CI_COLUMNS = (
    "class",
    "name",
    "external_id",
    "source",
    "site",
    "owner_group",
    "criticality",
    "lifecycle",
    "tags",
    "management_address",
    "description",
)
RELATIONSHIP_COLUMNS = ("from", "relation", "to", "redundant")
ATTRIBUTE_PREFIX = "attributes."
KINDS = ("ci", "relationship")


@dataclass
class Record:
    """One CI or relationship of the file, as plain values, with its line number."""

    row: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


def _fail(row: int, key: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"row {row}: {key}: {message}", errors={f"row {row}: {key}": [message]})


def decode(content: bytes | str) -> str:
    """The file's text: UTF-8 (BOM or not), else GB18030 (a superset of GBK)."""
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.on("file", "not UTF-8 or GB18030 text") from exc


# --- YAML -------------------------------------------------------------------------


def _yaml_document(text: str) -> tuple[Any, Any]:
    """The parsed document and its node tree (for line numbers)."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else 1
        raise _fail(row, "file", f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        # A constructor's own failure, e.g. an impossible date like 2024-13-45.
        raise _fail(1, "file", f"not valid YAML: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def read_yaml(text: str) -> list[Record]:
    data, node = _yaml_document(text)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise _fail(1, "file", "the document must be a mapping with `cis` and `relationships`")
    unknown = set(data) - {"version", "cis", "relationships"}
    if unknown:
        raise _fail(1, "file", f"unknown section(s): {', '.join(sorted(map(str, unknown)))}")
    if data.get("version", 1) != 1:
        raise _fail(1, "version", "only version 1 is understood")
    sections = {key.value: value for key, value in node.value}
    records: list[Record] = []
    for section, kind in (("cis", "ci"), ("relationships", "relationship")):
        items = data.get(section) or []
        if not items:
            continue
        if not isinstance(items, list):
            row = sections[section].start_mark.line + 1
            raise _fail(row, section, "must be a list")
        for item, item_node in zip(items, sections[section].value, strict=True):
            row = item_node.start_mark.line + 1
            if not isinstance(item, dict):
                raise _fail(row, section, "each entry must be a mapping")
            records.append(Record(row, kind, {str(k): v for k, v in item.items()}))
    return records


def write_yaml(cis: Iterable[dict[str, Any]], relationships: Iterable[dict[str, Any]]) -> str:
    document = {"version": 1, "cis": list(cis), "relationships": list(relationships)}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


# --- CSV --------------------------------------------------------------------------


def _cell_value(column: str, value: str) -> Any:
    if column == "tags":
        return [tag for tag in (t.strip() for t in value.split(";")) if tag]
    if column.startswith(ATTRIBUTE_PREFIX) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_csv(text: str) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
    header = reader.fieldnames or []
    if not header:
        return []
    if len(set(header)) != len(header):
        raise _fail(1, "header", "a column appears twice")
    known = set(CI_COLUMNS) | set(RELATIONSHIP_COLUMNS) | {"kind"}
    for column in header:
        if column not in known and not column.startswith(ATTRIBUTE_PREFIX):
            raise _fail(1, column, "unknown column")
    records: list[Record] = []
    start = 2
    try:
        for raw in reader:
            row, start = start, reader.line_num + 1
            if "\0extra" in raw:
                raise _fail(row, "row", "more cells than header columns")
            cells = {k: v.strip() for k, v in raw.items() if v is not None and v.strip()}
            if not cells:
                continue
            kind = cells.pop("kind", "ci")
            if kind not in KINDS:
                raise _fail(row, "kind", f"must be one of: {', '.join(KINDS)}")
            data: dict[str, Any] = {}
            attributes: dict[str, Any] = {}
            for column, value in cells.items():
                if column.startswith(ATTRIBUTE_PREFIX):
                    attributes[column.removeprefix(ATTRIBUTE_PREFIX)] = _cell_value(column, value)
                else:
                    data[column] = _cell_value(column, value)
            if attributes:
                data["attributes"] = attributes
            records.append(Record(row, kind, data))
    except csv.Error as exc:
        raise _fail(start, "file", f"not valid CSV: {exc}") from exc
    return records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(cis: list[dict[str, Any]], relationships: list[dict[str, Any]]) -> str:
    attribute_names = sorted({name for ci in cis for name in ci.get("attributes", {})})
    header = ["kind", *CI_COLUMNS, *RELATIONSHIP_COLUMNS]
    header += [ATTRIBUTE_PREFIX + name for name in attribute_names]
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for ci in cis:
        row = {"kind": "ci", **{c: _cell(ci.get(c)) for c in CI_COLUMNS}}
        row["tags"] = ";".join(ci.get("tags", []))
        for name, value in ci.get("attributes", {}).items():
            row[ATTRIBUTE_PREFIX + name] = _cell(value)
        writer.writerow(row)
    for rel in relationships:
        writer.writerow(
            {"kind": "relationship", **{c: _cell(rel.get(c)) for c in RELATIONSHIP_COLUMNS}}
        )
    return out.getvalue()


def read(content: bytes | str, fmt: BulkFormat) -> list[Record]:
    text = decode(content)
    return read_csv(text) if fmt == BulkFormat.CSV else read_yaml(text)


def write(fmt: BulkFormat, cis: list[dict[str, Any]], relationships: list[dict[str, Any]]) -> str:
    return (
        write_csv(cis, relationships) if fmt == BulkFormat.CSV else write_yaml(cis, relationships)
    )
