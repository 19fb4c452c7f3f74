"""Operator commands (CONTRACT §1): `flask --app wsgi users ...`, `maintenance on|off`."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.errors import AppError
from app.services import system as system_service
from app.services import users as user_service

users_cli = AppGroup("users", help="Manage user accounts.")
maintenance_cli = AppGroup("maintenance", help="Switch maintenance mode on or off.")


def _fail(exc: AppError) -> None:
    raise click.ClickException(exc.message)


def _get(name: str):
    user = user_service.find_by_username(name)
    if user is None:
        raise click.ClickException(f"no user named {name!r}")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--password", help="At least 8 characters; prompted for when left out.")
@click.option("--email")
@click.option("--full-name")
@click.option("--role", type=click.Choice(["admin", "developer", "viewer"]), default="developer")
@click.option("--tier", type=click.Choice(["standard", "premium"]), default="standard")
def create_user(username, password, email, full_name, role, tier):
    """Create a user."""
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = user_service.create_user(username, password, email=email, role=role, tier=tier,
                                        full_name=full_name)
    except AppError as exc:
        _fail(exc)
    click.echo(f"created {user.username} ({user.role}, {user.tier}) id={user.id}")


@users_cli.command("list")
def list_users():
    """List users with role, tier and state."""
    rows = user_service.list_users()
    click.echo(f"{'username':<24} {'role':<10} {'tier':<9} {'state':<9} last login")
    for u in rows:
        state = "disabled" if u.is_disabled else "active"
        last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "-"
        click.echo(f"{u.username:<24} {u.role:<10} {u.tier:<9} {state:<9} {last}")


@users_cli.command("disable")
@click.argument("username")
def disable_user(username):
    """Disable an account: it is refused at login and on every request after, and its tokens
    stay invalid if it is enabled again."""
    user_service.set_disabled(_get(username), True)
    click.echo(f"disabled {username} (every session of theirs is logged out)")


@users_cli.command("enable")
@click.argument("username")
def enable_user(username):
    """Enable a disabled account again."""
    user_service.set_disabled(_get(username), False)
    click.echo(f"enabled {username}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", help="Prompted for when left out.")
def set_password(username, password):
    """Set a user's password."""
    user = _get(username)
    if not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user_service.set_password(user, password)
    except AppError as exc:
        _fail(exc)
    click.echo(f"password changed for {username} (every session of theirs is logged out)")


@users_cli.command("ensure-admin")
def ensure_admin():
    """Make sure the admin account exists. Its password is printed only when this run made it
    up; one given in ADMIN_PASSWORD is never echoed (logs and terminals keep what they show)."""
    name = current_app.config["ADMIN_USERNAME"]
    if user_service.find_by_username(name):
        click.echo(f"Admin login: {name} (exists; password unchanged — `flask --app wsgi users "
                   f"set-password {name}` sets a new one)")
        return
    given = os.environ.get("ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    try:
        user_service.create_user(name, password, role="admin", full_name="Administrator")
    except AppError as exc:
        _fail(exc)
    if given:
        click.echo(f"Admin login: {name} (created with the password from ADMIN_PASSWORD)")
    else:
        click.echo(f"Admin login: {name} / {password}")
        click.echo("(a generated password, shown only this once: keep it, or set your own with "
                   f"`flask --app wsgi users set-password {name}`)")


@maintenance_cli.command("on")
@click.option("--message", help="Shown to users and sent to webhooks.")
def maintenance_on(message):
    """Refuse writes with 503 SYSTEM_MAINTENANCE; reads and health keep working."""
    system_service.set_maintenance(True, message, by="cli")
    click.echo("maintenance mode is ON")


@maintenance_cli.command("off")
def maintenance_off():
    """Accept writes again."""
    system_service.set_maintenance(False, by="cli")
    click.echo("maintenance mode is OFF")


@click.command("init")
def init_command():
    """Apply migrations and make sure the admin exists (what `make run` does before starting)."""
    from flask_migrate import upgrade

    upgrade()
    from pathlib import Path

    Path(current_app.config["WORKSPACE_ROOT"]).mkdir(parents=True, exist_ok=True)
    ensure_admin.callback()


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(maintenance_cli)
    app.cli.add_command(init_command)
