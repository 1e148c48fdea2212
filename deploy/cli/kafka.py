"""`concord kafka-credentials issue|rotate <ngo_id>`: an NGO's Kafka password, printed once.

Admin only: it runs with the Kafka admin's credentials (`KAFKA_SASL_USERNAME`/`_PASSWORD`,
which `make run` writes to its `concord.env`); the broker refuses anyone else. With the
password it prints where the NGO connects: the broker's NGO listener (SASL_SSL) and the CA
certificate its client trusts (`CONCORD_KAFKA_NGO_BOOTSTRAP`, `CONCORD_KAFKA_NGO_CAFILE`).
What the NGO may read is not decided here but by its vetting status
(`deploy/kafka_provisioner.py`): a credential of an NGO that is not vetted logs in and reads
nothing.
"""

from __future__ import annotations

import os
import uuid
from typing import Annotated

import typer

from deploy.cli.base import CommandFailed, app, console, run_async
from deploy.cli.events import default_bootstrap
from deploy.kafka_protocol import KafkaAdminError, describe_scram_users
from deploy.kafka_provisioner import NgoAccess, ngo_group_prefix, ngo_principal
from shared.events.kafka import KafkaSecurity

credentials = typer.Typer(
    help="Issue or rotate an NGO's Kafka credentials (admin only).", no_args_is_help=True
)
app.add_typer(credentials, name="kafka-credentials")


async def _set_password(ngo_id: uuid.UUID, *, rotate: bool, bootstrap: str | None) -> None:
    admin = KafkaSecurity.from_env()
    if not admin.sasl:
        raise CommandFailed("set KAFKA_SECURITY_PROTOCOL and the admin's KAFKA_SASL_* first")
    principal = ngo_principal(ngo_id)
    try:
        async with NgoAccess(bootstrap or default_bootstrap(), admin) as access:
            exists = principal in await describe_scram_users(access.client, [principal])
            if exists and not rotate:
                raise CommandFailed(f"{principal} has a credential already: use `rotate`")
            if rotate and not exists:
                raise CommandFailed(f"{principal} has no credential to rotate: use `issue`")
            password = await access.issue(ngo_id)
    except KafkaAdminError as exc:
        raise CommandFailed(f"the broker refused: {exc} (this needs the Kafka admin)") from None
    console.print(f"username  {principal}")
    console.print(f"password  {password}")
    console.print(f"groups    {ngo_group_prefix(ngo_id)}<anything>")
    ngo_bootstrap = os.environ.get("CONCORD_KAFKA_NGO_BOOTSTRAP")
    if ngo_bootstrap:
        console.print(f"bootstrap {ngo_bootstrap}")
        console.print(f"security  SASL_SSL, {admin.mechanism}")
        cafile = os.environ.get("CONCORD_KAFKA_NGO_CAFILE")
        if cafile:
            console.print(f"CA        {cafile} [dim](the certificate the NGO's client trusts)[/]")
    console.print("[dim]Shown once: give it to the NGO over a safe channel.[/]")


@credentials.command()
@run_async
async def issue(
    ngo_id: Annotated[uuid.UUID, typer.Argument(help="The NGO's id in the registry")],
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers")] = None,
) -> None:
    """Create the NGO's Kafka principal with a new password, printed once."""
    await _set_password(ngo_id, rotate=False, bootstrap=bootstrap)


@credentials.command()
@run_async
async def rotate(
    ngo_id: Annotated[uuid.UUID, typer.Argument(help="The NGO's id in the registry")],
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers")] = None,
) -> None:
    """Replace the NGO's Kafka password (the old one stops working), printed once."""
    await _set_password(ngo_id, rotate=True, bootstrap=bootstrap)
