"""Kafka admin requests aiokafka has no high-level method for: ACLs and SCRAM credentials.

aiokafka 0.14 has the ACL request structures (version 1, which Kafka 4 still accepts) but
sends one ACL per request and has nothing for SCRAM credentials. The SCRAM structures below
follow Kafka's message definitions (`clients/src/main/resources/common/message/`
`AlterUserScramCredentials{Request,Response}.json`, `DescribeUserScramCredentials…`: API keys
51 and 50, version 0 only, flexible: request header v2, compact strings and tagged fields).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)


class ResourceType(IntEnum):
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class PatternType(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


class Permission(IntEnum):
    ANY = 1
    DENY = 2
    ALLOW = 3


class ScramMechanism(IntEnum):
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2


SCRAM_ITERATIONS = 8192
RESOURCE_NOT_FOUND = 91  # Kafka's error code; aiokafka has no class for it
CLUSTER_RESOURCE = "kafka-cluster"


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding: `principal` may do `operation` on the resource (from any host)."""

    principal: str  # "User:<name>"
    resource_type: ResourceType
    name: str
    pattern: PatternType
    operation: Operation

    def __str__(self) -> str:
        pattern = "*" if self.pattern is PatternType.PREFIXED else ""
        return (
            f"{self.principal} {self.operation.name} {self.resource_type.name}:{self.name}{pattern}"
        )


class KafkaAdminError(RuntimeError):
    """The broker refused an admin request; the message names what and why."""


def _check(code: int, message: str | None, what: str) -> None:
    if code:
        raise KafkaAdminError(
            f"{what}: {for_code(code).__name__}" + (f" ({message})" if message else "")
        )


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, acls: list[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [
                (
                    int(a.resource_type),
                    a.name,
                    int(a.pattern),
                    a.principal,
                    "*",
                    int(a.operation),
                    int(Permission.ALLOW),
                )
                for a in self._acls
            ]
        )


class _DescribeAcls(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 29

    def __init__(self, principal: str | None) -> None:
        self._principal = principal

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        any_ = int(ResourceType.ANY)
        return request_struct_class(
            any_, None, int(PatternType.ANY), self._principal, None, int(Operation.ANY), 1
        )


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 31

    def __init__(self, acls: list[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(
            [
                (
                    int(a.resource_type),
                    a.name,
                    int(a.pattern),
                    a.principal,
                    "*",
                    int(a.operation),
                    int(Permission.ALLOW),
                )
                for a in self._acls
            ]
        )


async def describe_acls(admin: AIOKafkaAdminClient, principal: str | None = None) -> set[Acl]:
    """The ALLOW bindings of `principal` (None: of everyone)."""
    response: Any = await admin._send_request(_DescribeAcls(principal))
    _check(response.error_code, response.error_message, "describe ACLs")
    found: set[Acl] = set()
    for resource_type, name, pattern, acls in response.resources:
        for who, _host, operation, permission in acls:
            if permission == Permission.ALLOW:
                found.add(
                    Acl(
                        who,
                        ResourceType(resource_type),
                        name,
                        PatternType(pattern),
                        Operation(operation),
                    )
                )
    return found


async def create_acls(admin: AIOKafkaAdminClient, acls: list[Acl]) -> None:
    if not acls:
        return
    response: Any = await admin._send_request(_CreateAcls(acls))
    for acl, (code, message) in zip(acls, response.creation_responses, strict=True):
        _check(code, message, f"create ACL {acl}")


async def delete_acls(admin: AIOKafkaAdminClient, acls: list[Acl]) -> None:
    if not acls:
        return
    response: Any = await admin._send_request(_DeleteAcls(acls))
    for acl, result in zip(acls, response.filter_responses, strict=True):
        _check(result[0], result[1], f"delete ACL {acl}")


# SCRAM credentials (not in aiokafka): structures from Kafka's JSON message definitions.


class AlterUserScramCredentialsResponseV0(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequestV0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponseV0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("tags", TaggedFields),
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeUserScramCredentialsResponseV0(Response):  # type: ignore[misc]
    API_KEY = 50
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", CompactString("utf-8")),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                (
                    "credential_infos",
                    CompactArray(
                        ("mechanism", Int8), ("iterations", Int32), ("tags", TaggedFields)
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeUserScramCredentialsRequestV0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 50
    API_VERSION = 0
    RESPONSE_TYPE = DescribeUserScramCredentialsResponseV0
    SCHEMA = Schema(
        ("users", CompactArray(("name", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[AlterUserScramCredentialsRequestV0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(
        self, upsert: dict[str, str], delete: list[str], *, iterations: int = SCRAM_ITERATIONS
    ) -> None:
        self._upsert = upsert
        self._delete = delete
        self._iterations = iterations

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequestV0]
    ) -> AlterUserScramCredentialsRequestV0:
        mechanism = int(ScramMechanism.SCRAM_SHA_512)
        upsertions: list[tuple[Any, ...]] = []
        for name, password in self._upsert.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, self._iterations)
            upsertions.append((name, mechanism, self._iterations, salt, salted, {}))
        deletions: list[tuple[Any, ...]] = [(name, mechanism, {}) for name in self._delete]
        return request_struct_class(deletions, upsertions, {})


class _DescribeScram(Request[DescribeUserScramCredentialsRequestV0]):  # type: ignore[misc]
    API_KEY = 50

    def __init__(self, users: list[str]) -> None:
        self._users = users

    def build(
        self, request_struct_class: type[DescribeUserScramCredentialsRequestV0]
    ) -> DescribeUserScramCredentialsRequestV0:
        return request_struct_class([(name, {}) for name in self._users], {})


async def alter_scram_credentials(
    admin: AIOKafkaAdminClient,
    *,
    upsert: dict[str, str] | None = None,
    delete: list[str] | None = None,
) -> None:
    """Set (user → password) SCRAM-SHA-512 credentials and delete others' credentials.

    Deleting a user that has none is not an error here: the goal is that it has none."""
    upsert, delete = upsert or {}, delete or []
    if not upsert and not delete:
        return
    response: Any = await admin._send_request(_AlterScram(upsert, delete))
    for user, code, message, _tags in response.results:
        if code == RESOURCE_NOT_FOUND and user in delete:
            continue
        _check(code, message, f"SCRAM credential of {user}")


async def describe_scram_users(admin: AIOKafkaAdminClient, users: list[str]) -> set[str]:
    """Which of `users` have a SCRAM-SHA-512 credential."""
    response: Any = await admin._send_request(_DescribeScram(users))
    _check(response.error_code, response.error_message, "describe SCRAM credentials")
    found = set()
    for user, code, _message, infos, _tags in response.results:
        if code == 0 and any(m == ScramMechanism.SCRAM_SHA_512 for m, _i, _t in infos):
            found.add(user)
    return found
