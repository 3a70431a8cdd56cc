"""The `upcron` commands that manage data: admins, API keys, bulk changes, maintenance,
export and import, tags. app.cli loads this module on the first use of a command it does not
define itself, so the processes `upcron up` runs (up, web, scheduler, worker) import none of
the services these commands need."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from app.cli import cli
from app.services import accounts, api_keys, bulk, maintenance, ping_key, tags, two_factor
from app.services import config as configuration
from app.services.errors import NotFound, ValidationError
from app.services.pagination import PER_PAGE_MAX


@cli.command("create-admin")
@click.option("--email", prompt="E-mail", help="The admin's e-mail address.")
@click.option(
    "--password",
    prompt="Password",
    hide_input=True,
    confirmation_prompt=True,
    help="At least 12 characters (asked for when omitted).",
)
def create_admin(email, password):
    """Create an admin account (also completes first-run setup)."""
    try:
        user = accounts.create_admin(email, password)
    except ValidationError as exc:
        raise click.ClickException(" ".join(exc.fields.values())) from None
    click.echo(f"Admin {user.email} created.")


@cli.command("reset-2fa")
@click.option("--email", required=True, help="The e-mail address of the locked-out admin.")
def reset_2fa(email):
    """Turn an admin's two-factor sign-in off (lost phone and recovery codes)."""
    try:
        user = two_factor.reset(email)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Two-factor sign-in is off for {user.email}. They sign in with their password"
        + (
            " and set it up again at once (it is required)."
            if accounts.two_factor_required()
            else "; they can set it up again under Settings → Two-factor."
        )
    )


@cli.command("create-api-key")
@click.option("--name", required=True, help="What the key is for, e.g. deploy-bot.")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated scopes, e.g. monitors:read,cron-jobs:* or * for everything.",
)
@click.option("--expires-at", help="ISO 8601 moment with offset, e.g. 2030-01-01T00:00:00Z.")
@click.option("--allowed-networks", help="Comma-separated addresses or CIDRs it may come from.")
@click.option("--rate-limit-per-sec", help="Requests per second (default 10).")
@click.option("--daily-quota", help="Requests per UTC day (default: no quota).")
@click.option(
    "--secret",
    help="Import an existing CronUptime API token (64 hex characters) as this key's secret.",
)
def create_api_key(
    name, scopes, expires_at, allowed_networks, rate_limit_per_sec, daily_quota, secret
):
    """Create an API key and print its secret once (only the secret goes to stdout).

    With --secret, the key's secret is that CronUptime token, so scripts keep using it."""
    given = {
        "name": name,
        "scopes": scopes,
        "expires_at": expires_at,
        "allowed_networks": allowed_networks,
        "rate_limit_per_sec": rate_limit_per_sec,
        "daily_quota": daily_quota,
    }
    try:
        key, secret = api_keys.create(
            {k: v for k, v in given.items() if v is not None}, imported=secret
        )
    except ValidationError as exc:
        problems = "; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(problems or exc.message) from None
    click.echo(
        f"API key {key.name!r} created (prefix {key.prefix}, scopes {', '.join(key.scopes)}). "
        "Store the secret now; it is not shown again:",
        err=True,
    )
    click.echo(secret)


@cli.command("ping-key")
@click.option("--regenerate", is_flag=True, help="Replace it; slug URLs with the old one stop.")
def ping_key_command(regenerate):
    """Print the ping key of slug ping URLs (/ping/<ping key>/<slug>), or a new one."""
    click.echo(ping_key.regenerate() if regenerate else ping_key.get())


@cli.command("bulk")
@click.argument("action", type=click.Choice(bulk.ACTIONS))
@click.option("--monitor", "monitor_ids", multiple=True, help="A monitor or heartbeat id.")
@click.option("--cron-job", "cron_job_ids", multiple=True, help="A cron job id.")
@click.option("--tag", "tags", multiple=True, help="tag, untag: a tag name.")
@click.option("--channel", "channel_ids", multiple=True, help="set_channels: a channel id.")
@click.option("--no-channels", is_flag=True, help="set_channels: remove every channel.")
@click.option("--minutes", help="maintenance: how long, from now.")
def bulk_command(action, monitor_ids, cron_job_ids, tags, channel_ids, no_channels, minutes):
    """Apply ACTION to many items at once, in one transaction, and say what changed.

    Options repeat: upcron bulk pause --monitor 3 --monitor 4 --cron-job 7.
    """
    data = {"action": action, "monitor_ids": list(monitor_ids), "cron_job_ids": list(cron_job_ids)}
    if tags:
        data["tags"] = list(tags)
    if channel_ids or no_channels:
        data["channel_ids"] = list(channel_ids)
    if minutes is not None:
        data["minutes"] = minutes
    options = {"monitor_ids": "--monitor", "cron_job_ids": "--cron-job", "tags": "--tag",
               "channel_ids": "--channel", "minutes": "--minutes"}  # fmt: skip
    try:
        result = bulk.run(data)
    except ValidationError as exc:
        problems = "; ".join(f"{options.get(k, k)}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(problems or exc.message) from None
    click.echo(bulk.describe(result))
    for key, option in (("monitor_ids", "monitors"), ("cron_job_ids", "cron jobs")):
        if result.changed[key]:
            click.echo(f"Changed {option}: {', '.join(map(str, result.changed[key]))}")
        if result.unchanged[key]:
            click.echo(f"Unchanged {option}: {', '.join(map(str, result.unchanged[key]))}")
    if result.window_id is not None:
        click.echo(f"Maintenance window: {result.window_id}")


@cli.group("maintenance")
def maintenance_group():
    """Maintenance windows."""


@maintenance_group.command("list")
def maintenance_list():
    """Every maintenance window: id, status, its current or next period, title."""
    now = datetime.now(UTC)
    page = maintenance.list_windows(per_page=PER_PAGE_MAX)
    for window in page.items:
        period = maintenance.periods(window, now, 1)
        when = (
            f"{period[0][0]:%Y-%m-%d %H:%M} to {period[0][1]:%Y-%m-%d %H:%M} UTC" if period else "-"
        )
        click.echo(f"{window.id}\t{maintenance.status(window, now)}\t{when}\t{window.title}")
    if page.total > len(page.items):
        click.echo(f"… and {page.total - len(page.items)} more (see GET /api/maintenance).")


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(configuration.FORMATS), default="json")
@click.option("--with-secrets", is_flag=True, help="Include passwords, secret headers and tokens.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE.")
def export_command(fmt, with_secrets, output):
    """Write the whole configuration as one document (to stdout unless --output)."""
    text = configuration.dump(configuration.export_document(with_secrets), fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option(
    "--prune", is_flag=True, help="Delete items of the document's sections it leaves out."
)
@click.option(
    "--from",
    "source",
    type=click.Choice(configuration.SOURCES),
    default="upcron",
    help="Whose export FILE is.",
)
def import_command(file, dry_run, prune, source):
    """Import a configuration document: print the plan, then apply it in one transaction."""
    raw = Path(file).read_bytes()
    try:
        result = configuration.import_file(raw, source=source, prune=prune, dry_run=dry_run)
    except ValidationError as exc:
        click.echo(f"{exc.message}", err=True)
        for field, message in exc.fields.items():
            click.echo(f"  {field}: {message}", err=True)
        sys.exit(1)
    click.echo(plan_text(result["plan"], result["skipped"], result["warnings"]))
    click.echo("Applied." if result["applied"] else "Dry run: nothing was changed.")


def plan_text(plan: dict, skipped: list[dict], warnings: list[dict]) -> str:
    """An import's plan for a terminal: what is created, updated (with the fields that
    change), deleted and left as it is, then what a conversion could not carry over and
    what it carried over differently."""
    lines = []
    for action in ("create", "update", "delete", "unchanged"):
        entries = plan[action]
        if not entries:
            continue
        lines.append(f"{action.capitalize()} ({len(entries)}):")
        for entry in entries:
            changed = f" ({', '.join(entry['fields'])})" if entry.get("fields") else ""
            lines.append(f"  {entry['section']}: {entry['name']}{changed}")
    if not any(plan.values()):
        lines.append("The document is empty: nothing to do.")
    if skipped:
        lines.append(f"Skipped ({len(skipped)}):")
        lines += [f"  {s['kind']}: {s['name']} ({s['reason']})" for s in skipped]
    if warnings:
        lines.append(f"Carried over differently ({len(warnings)}):")
        lines += [f"  {w['kind']}: {w['name']} ({w['message']})" for w in warnings]
    return "\n".join(lines)


@cli.group("tags")
def tags_group():
    """Tags on monitors, heartbeats and cron jobs."""


@tags_group.command("list")
def tags_list():
    """Every tag: id, colour, how many items carry it, name."""
    for tag, uses in tags.list_tags():
        click.echo(f"{tag.id}\t{tag.colour}\t{uses}\t{tag.name}")


@tags_group.command("rename")
@click.argument("name")
@click.argument("new_name")
def tags_rename(name, new_name):
    """Rename the tag NAME (any case) to NEW_NAME; every item carrying it follows."""
    _tag_change(name, {"name": new_name})


@tags_group.command("colour")
@click.argument("name")
@click.argument("colour")
def tags_colour(name, colour):
    """Give the tag NAME the COLOUR #rrggbb."""
    _tag_change(name, {"colour": colour})


@tags_group.command("delete")
@click.argument("name")
def tags_delete(name):
    """Delete the tag NAME; the items that carried it stay."""
    tag = _tag_named(name)
    tags.delete(tag.id)
    click.echo(f"Deleted the tag {tag.name}.")


def _tag_named(name: str):
    try:
        return tags.find(name)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None


def _tag_change(name: str, data: dict) -> None:
    try:
        tag = tags.update(_tag_named(name).id, data)
    except ValidationError as exc:
        raise click.ClickException(" ".join(exc.fields.values())) from None
    click.echo(f"{tag.id}\t{tag.colour}\t{tag.name}")
