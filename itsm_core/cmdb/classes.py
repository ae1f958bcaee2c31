"""The CI class registry: each class's name, label and attribute schema.

A class's attributes are a Pydantic model with ``extra="forbid"``: ``validate_attributes``
refuses unknown keys and bad values with errors keyed ``attributes.<name>``. Every
attribute is optional (discovery rarely knows everything), and none may hold a secret:
SNMP communities, v3 keys and API tokens live in collector settings, never in the CMDB —
``register`` refuses attribute names that look like secrets.

Other packages extend the CMDB with ``register(CIClass(...))`` at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from itsm_core.errors import ValidationFailed

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Port = Annotated[int, Field(ge=1, le=65535)]
Mac = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$"),
    AfterValidator(lambda value: value.lower().replace("-", ":")),
]
_SECRET_WORDS = ("password", "secret", "token", "community", "auth_key", "priv_key", "passphrase")
_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Attributes(BaseModel):
    """Base of every class's attribute model: unknown keys are refused."""

    # Numbers become text where a text is expected (``version: 6.0`` in YAML, a CSV cell).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


class SiteKind(StrEnum):
    DATA_CENTER = "data_center"
    HOSPITAL = "hospital"
    TOWNSHIP_HOSPITAL = "township_hospital"
    VILLAGE_CLINIC = "village_clinic"
    OFFICE = "office"


class SiteAttributes(Attributes):
    kind: SiteKind | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    region: ShortText | None = Field(default=None, description="County, township…")
    contact: ShortText | None = None


class NetworkRole(StrEnum):
    CORE = "core"
    DISTRIBUTION = "distribution"
    ACCESS = "access"
    ROUTER = "router"
    FIREWALL = "firewall"
    CPE = "cpe"
    WIRELESS = "wireless"


class NetworkDeviceAttributes(Attributes):
    vendor: ShortText | None = None
    model: ShortText | None = None
    os_version: ShortText | None = None
    serial_number: ShortText | None = None
    role: NetworkRole | None = None
    sys_object_id: Annotated[str, Field(pattern=r"^\.?[0-2](\.\d+)+$", max_length=200)] | None = (
        None
    )
    sys_name: ShortText | None = None
    sys_descr: Annotated[str, StringConstraints(max_length=1000)] | None = None
    snmp_version: Annotated[str, Field(pattern=r"^(v1|v2c|v3)$")] | None = None
    snmp_port: Port | None = None
    # The name of a credential profile in the collector settings, never the secret.
    snmp_profile: ShortText | None = None


class InterfaceAttributes(Attributes):
    if_index: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    if_name: ShortText | None = None
    if_alias: ShortText | None = None
    if_type: Annotated[int, Field(ge=1, le=1000)] | None = None
    speed_mbps: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    mtu: Annotated[int, Field(ge=0, le=65535)] | None = None
    mac: Mac | None = None


class HypervisorNodeAttributes(Attributes):
    cluster: ShortText | None = None
    platform: ShortText | None = Field(default=None, description="e.g. proxmox-ve")
    version: ShortText | None = None
    cpu_cores: Annotated[int, Field(ge=1, le=100_000)] | None = None
    memory_mb: Annotated[int, Field(ge=1, le=2**40)] | None = None


class VmAttributes(Attributes):
    node: ShortText | None = Field(default=None, description="Hypervisor node name")
    vmid: Annotated[int, Field(ge=1, le=999_999_999)] | None = None
    vm_type: Annotated[str, Field(pattern=r"^(qemu|lxc)$")] | None = None
    vcpus: Annotated[int, Field(ge=1, le=4096)] | None = None
    memory_mb: Annotated[int, Field(ge=1, le=2**40)] | None = None
    disk_gb: Annotated[float, Field(ge=0, le=10**9)] | None = None
    os: ShortText | None = None
    hostname: ShortText | None = None


class ApplicationAttributes(Attributes):
    version: ShortText | None = None
    vendor: ShortText | None = None
    url: Annotated[str, StringConstraints(max_length=500)] | None = None
    environment: Annotated[str, Field(pattern=r"^(production|staging|test)$")] | None = None


class DatabaseAttributes(Attributes):
    engine: ShortText | None = Field(default=None, description="oracle, sqlserver, postgresql…")
    version: ShortText | None = None
    port: Port | None = None
    instance_name: ShortText | None = None


class BusinessServiceAttributes(Attributes):
    service_hours: ShortText | None = Field(default=None, description="e.g. 24x7")
    clinical: bool | None = Field(default=None, description="Used directly in patient care")
    departments: list[ShortText] | None = Field(default=None, max_length=100)
    rto_minutes: Annotated[int, Field(ge=0, le=10**6)] | None = None


@dataclass(frozen=True)
class CIClass:
    """One class of configuration item and the schema of its ``attributes``."""

    name: str
    label: str
    description: str
    attributes: type[Attributes]

    def json_schema(self) -> dict[str, Any]:
        return self.attributes.model_json_schema()


_REGISTRY: dict[str, CIClass] = {}


def register(ci_class: CIClass) -> CIClass:
    """Add a class (or replace one of the same name); refuses secret-looking attributes."""
    if not _CLASS_NAME.match(ci_class.name):
        raise ValueError(f"bad CI class name {ci_class.name!r}")
    for field_name in ci_class.attributes.model_fields:
        if any(word in field_name.lower() for word in _SECRET_WORDS):
            raise ValueError(f"{ci_class.name}.{field_name}: secrets do not belong in the CMDB")
    _REGISTRY[ci_class.name] = ci_class
    return ci_class


def registered() -> list[CIClass]:
    """Every registered class, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def class_names() -> list[str]:
    return sorted(_REGISTRY)


def get_class(name: str, field: str = "class") -> CIClass:
    """The class called ``name``, or ``ValidationFailed`` on ``field`` naming the choices."""
    found = _REGISTRY.get(name)
    if found is None:
        raise ValidationFailed.on(
            field, f"unknown CI class {name!r}; one of: {', '.join(class_names())}"
        )
    return found


def validate_attributes(class_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked against the class schema, normalised, with unset keys dropped."""
    model = get_class(class_name).attributes
    try:
        parsed = model.model_validate(dict(values))
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            message = "unknown attribute" if err["type"] == "extra_forbidden" else err["msg"]
            errors.setdefault(f"attributes.{loc}" if loc else "attributes", []).append(message)
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        raise ValidationFailed(detail, errors=errors) from exc
    dumped: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    return dumped


SITE = "site"
NETWORK_DEVICE = "network_device"
INTERFACE = "interface"
HYPERVISOR_NODE = "hypervisor_node"
VM = "vm"
APPLICATION = "application"
DATABASE = "database"
BUSINESS_SERVICE = "business_service"

for _builtin in (
    CIClass(
        SITE,
        "Site",
        "A location: data centre, hospital, township hospital, clinic.",
        SiteAttributes,
    ),
    CIClass(
        NETWORK_DEVICE, "Network device", "Router, switch, firewall, CPE…", NetworkDeviceAttributes
    ),
    CIClass(
        INTERFACE, "Interface", "A network interface of a device or node.", InterfaceAttributes
    ),
    CIClass(
        HYPERVISOR_NODE,
        "Hypervisor node",
        "A virtualisation host (e.g. Proxmox VE node).",
        HypervisorNodeAttributes,
    ),
    CIClass(VM, "Virtual machine", "A VM or container on a hypervisor node.", VmAttributes),
    CIClass(
        APPLICATION,
        "Application",
        "Software serving users: HIS, EMR, PACS, LIS…",
        ApplicationAttributes,
    ),
    CIClass(DATABASE, "Database", "A database instance.", DatabaseAttributes),
    CIClass(
        BUSINESS_SERVICE,
        "Business service",
        "What departments and patients consume.",
        BusinessServiceAttributes,
    ),
):
    register(_builtin)
