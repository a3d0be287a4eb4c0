"""MLflow's users for the stack, made through its basic-auth app's REST API as its admin.

The stack's MLflow runs ``mlflow server --app-name basic-auth`` with ``default_permission =
READ``: every request needs a user; any user may read every model; a user owns (MANAGE) the
experiments and registered models it creates. So the workers' user can write checkpoints and
prune its own versions, the API's reader can only read, and an operator (the admin) moves
aliases. :func:`set_up` makes the users, or changes a password that differs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from tickcast.config import redact
from tickcast.exceptions import TickcastError

__all__ = ["set_up"]

log = logging.getLogger(__name__)
TIMEOUT_S = 30


def set_up(uri: str, admin: tuple[str, str], passwords: Mapping[str, str]) -> None:
    """Each user of ``passwords`` (those with one) made, or its password set."""
    import requests

    api = uri.rstrip("/") + "/api/2.0/mlflow/users/"
    made = []
    for user, password in passwords.items():
        if not password:
            continue
        body = {"username": user, "password": password}
        try:
            answer = requests.post(api + "create", json=body, auth=admin, timeout=TIMEOUT_S)
            if answer.status_code == 400 and "RESOURCE_ALREADY_EXISTS" in answer.text:
                answer = requests.patch(
                    api + "update-password", json=body, auth=admin, timeout=TIMEOUT_S
                )
        except requests.RequestException as exc:
            raise TickcastError(f"MLflow at {redact(uri)} does not answer: {exc}") from None
        if not answer.ok:
            raise TickcastError(
                f"MLflow at {redact(uri)} refused user {user!r}: {answer.status_code} "
                f"{answer.text[:200]}"
            )
        made.append(user)
    log.info("mlflow at %s: users %s", redact(uri), ", ".join(made) or "none changed")
