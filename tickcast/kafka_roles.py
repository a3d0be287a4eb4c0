"""Kafka's users and what each may do: one role per kind of process, and nothing more.

A broker that authorizes (the stack's: SASL/SCRAM, deny when no ACL matches, see
``infra/kafka/broker``) lets each user do only what its role's ACLs allow:

- ``worker``: read ``ticks`` with its consumer group (the app id); read, write and create its
  own topics (Faust's changelog and assignor topics, ``<app_id>-*``, which Faust asks to create at
  every start); write ``forecasts`` and the dead letters; its transactional ids
  (``<app_id>-*``);
- ``producer``: write ``ticks``, and the dead letters of what it could not validate (every
  rejected record in one place: the dead-letter topic);
- ``reader``: read ``forecasts`` and the dead letters, with consumer groups named ``reader*``.

:func:`set_up` makes the topics, the users (their SCRAM credentials) and the ACLs with the
admin client, as the broker's admin; running it again changes nothing that is already so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from tickcast.config import Settings
from tickcast.exceptions import TickcastError

__all__ = ["READER_GROUPS", "ROLES", "Role", "acls", "set_up"]

log = logging.getLogger(__name__)
Role = Literal["worker", "producer", "reader"]
ROLES: tuple[Role, ...] = ("worker", "producer", "reader")
READER_GROUPS = "reader"  # the prefix of readers' consumer group names
SCRAM_ITERATIONS = 8192
# (resource kind, name, pattern, operation) per role; names from settings
Grant = tuple[str, str, str, str]


def acls(role: Role, settings: Settings) -> list[Grant]:
    """What ``role`` may do, as (resource, name, pattern, operation)."""
    s = settings
    own = f"{s.app_id}-"
    grants: dict[Role, list[Grant]] = {
        "worker": [
            ("TOPIC", s.ticks_topic, "LITERAL", "READ"),
            ("GROUP", s.app_id, "LITERAL", "READ"),
            ("TOPIC", own, "PREFIXED", "READ"),
            ("TOPIC", own, "PREFIXED", "WRITE"),
            ("TOPIC", own, "PREFIXED", "CREATE"),
            ("TOPIC", s.forecasts_topic, "LITERAL", "WRITE"),
            ("TOPIC", s.dlq_topic, "LITERAL", "WRITE"),
            ("TRANSACTIONAL_ID", own, "PREFIXED", "WRITE"),
        ],
        "producer": [
            ("TOPIC", s.ticks_topic, "LITERAL", "WRITE"),
            ("TOPIC", s.dlq_topic, "LITERAL", "WRITE"),
        ],
        "reader": [
            ("TOPIC", s.forecasts_topic, "LITERAL", "READ"),
            ("TOPIC", s.dlq_topic, "LITERAL", "READ"),
            ("GROUP", READER_GROUPS, "PREFIXED", "READ"),
        ],
    }
    return grants[role]


def set_up(settings: Settings, passwords: Mapping[Role, str]) -> None:
    """Topics, users (those with a password) and every role's ACLs, made as the settings'
    Kafka user (the admin); each step waits for the broker's answer, and a refusal stops with
    its reason."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        NewTopic,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = settings.kafka_auth
    client = AdminClient(admin.librdkafka())
    wanted = {
        settings.ticks_topic: settings.partitions,
        settings.forecasts_topic: settings.partitions,
        settings.dlq_topic: 1,
    }
    existing = set(client.list_topics(timeout=30).topics)
    missing = [NewTopic(name, n, 1) for name, n in wanted.items() if name not in existing]
    _wait(client.create_topics(missing) if missing else {}, "creating topics")
    users: list[Any] = [
        UserScramCredentialUpsertion(
            role,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            password.encode(),
        )
        for role, password in passwords.items()
        if password
    ]
    _wait(client.alter_user_scram_credentials(users) if users else {}, "setting passwords")
    bindings = [
        AclBinding(
            getattr(ResourceType, kind),
            name,
            getattr(ResourcePatternType, pattern),
            f"User:{role}",
            "*",
            getattr(AclOperation, operation),
            AclPermissionType.ALLOW,
        )
        for role in ROLES
        for kind, name, pattern, operation in acls(role, settings)
    ]
    _wait(client.create_acls(bindings), "granting ACLs")
    log.info(
        "kafka at %s: topics %s, users %s, %d ACLs",
        admin.bootstrap,
        ", ".join(wanted),
        ", ".join(u.user for u in users) or "none changed",
        len(bindings),
    )


def _wait(futures: Mapping[Any, Any], what: str) -> None:
    """Each answer of the admin client; the first refusal as one line."""
    from confluent_kafka import KafkaException

    for key, future in futures.items():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            raise TickcastError(f"Kafka refused {what} ({key}): {exc.args[0].str()}") from None
