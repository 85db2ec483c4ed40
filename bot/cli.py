"""The `kampung` command line. Texts for people come from the catalogue (cli.*)."""
from __future__ import annotations

import argparse
import asyncio
import sys

from bot import inbox_desk, when_cli
from bot.app import App, build_app
from bot.feature_list import all_features
from bot.log_setup import configure_logging
from bot.settings import SettingsError, load_settings


def _app(args) -> App:
    settings = load_settings(args.env_file)
    settings.validate()
    configure_logging(settings.log_level)
    return build_app(settings)


def _say(app: App, key: str, **params) -> None:
    print(app.catalog.text(app.settings.default_language, key, **params))


def cmd_run(args) -> int:
    from bot.services import Services, serve_forever

    app = _app(args)
    services = Services(app)
    if not services.channels:
        from bot.console import chat

        _say(app, "cli.run_console_only")
        chat(app, args.address)
        return 0
    _say(app, "cli.run_started", channels=", ".join(sorted(services.worker.dispatcher.senders)))
    asyncio.run(serve_forever(services, app.settings.host, app.settings.port, with_scheduler=True))
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from bot.services import Services

    app = _app(args)
    uvicorn.run(Services(app).web_app(), host=args.host or app.settings.host, port=args.port or app.settings.port,
                log_level=app.settings.log_level.lower(), log_config=None)
    return 0


def cmd_chat(args) -> int:
    from bot.console import chat

    chat(_app(args), args.address)
    return 0


def cmd_simulate(args) -> int:
    from bot.simulate import run

    app = _app(args)
    stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    with stream:
        errors = run(app, stream, sys.stdout, sys.stderr)
    return 1 if errors else 0


def cmd_init(args) -> int:
    from bot.kampung_setup import KampungSpec, apply_spec, parse_rts, require_rw

    app = _app(args)
    lang = app.settings.default_language

    def ask(key: str, current: str | None) -> str:
        if current is not None:
            return current
        return input(app.catalog.text(lang, key) + " ").strip()

    try:
        spec = KampungSpec(
            name=ask("cli.init_ask_name", args.name),
            rw=require_rw(ask("cli.init_ask_rw", args.rw)),
            rts=parse_rts(ask("cli.init_ask_rts", args.rts)),
            paguyuban=args.paguyuban if args.paguyuban is not None else [
                p.strip() for p in ask("cli.init_ask_paguyuban", None).split(",") if p.strip()
            ],
            kelurahan=ask("cli.init_ask_kelurahan", args.kelurahan),
            kecamatan=args.kecamatan or "",
            city=args.city or "",
        )
    except ValueError as exc:
        _say(app, "cli.error", reason=str(exc))
        return 2
    with app.sessions.begin() as session:
        apply_spec(session, spec)
    _say(app, "cli.init_done", name=spec.name, rw=spec.rw, rts=", ".join(spec.rts), count=len(spec.paguyuban))
    return 0


def cmd_residents_import(args) -> int:
    from bot.residents_import import import_residents

    app = _app(args)
    with open(args.file, encoding="utf-8-sig", newline="") as fh, app.sessions.begin() as session:
        report = import_residents(session, fh, consent_collected=args.consent_collected, now=app.clock.now())
    for line, reason in report.errors:
        _say(app, "cli.import_bad_row", line=line, reason=reason)
    _say(app, "cli.import_done", created=report.created, updated=report.updated, bad=len(report.errors))
    return 1 if report.errors and not (report.created or report.updated) else 0


def cmd_roles_grant(args) -> int:
    from bot.roles_admin import RoleError, grant_role

    app = _app(args)
    try:
        with app.sessions.begin() as session:
            name = grant_role(session, args.phone, args.role, args.rt)
    except RoleError as exc:
        _say(app, "cli.error", reason=str(exc))
        return 2
    _say(app, "cli.role_granted", who=name, role=args.role, rt=args.rt or "-")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kampung", description="Kampung Bot: WhatsApp, SMS and Telegram bot for a kampung.")
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run every configured channel, the scheduler and the dispatcher (console chat when none)")
    p.add_argument("--as", dest="address", default="console-warga", help="console address when no channel is configured")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="serve the webhook app (Twilio, Telegram, /healthz)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("chat", help="chat with the bot in this terminal")
    p.add_argument("--as", dest="address", default="console-warga", help="who you are: a phone number like +6281234567001")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("init", help="set the kampung's name, kelurahan, RW, RTs and paguyuban")
    p.add_argument("--name")
    p.add_argument("--kelurahan")
    p.add_argument("--kecamatan")
    p.add_argument("--city")
    p.add_argument("--rw")
    p.add_argument("--rts", help='e.g. "01-10" or "1,2,5"')
    p.add_argument("--paguyuban", action="append", help="repeatable")
    p.set_defaults(func=cmd_init)

    residents = sub.add_parser("residents", help="manage residents").add_subparsers(dest="action", required=True)
    p = residents.add_parser("import", help="import residents from CSV: phone,name,rt,rw,paguyuban")
    p.add_argument("file")
    p.add_argument("--consent-collected", action="store_true", help="consent was collected on paper; skip onboarding")
    p.set_defaults(func=cmd_residents_import)

    roles = sub.add_parser("roles", help="manage roles").add_subparsers(dest="action", required=True)
    p = roles.add_parser("grant", help="grant a role: warga, ketua_rt, ketua_rw, koordinator, admin")
    p.add_argument("phone")
    p.add_argument("role")
    p.add_argument("--rt")
    p.set_defaults(func=cmd_roles_grant)

    p = sub.add_parser("simulate", help="drive the bot with JSON lines (a file, or - for stdin)")
    p.add_argument("file")
    p.set_defaults(func=cmd_simulate)

    when_cli.register(sub)
    inbox_desk.register(sub, _app)
    for feature in all_features():
        if feature.cli:
            feature.cli(sub, _app)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"settings error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
