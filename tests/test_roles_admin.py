"""grant_role and `kampung roles grant` against a real SQLite database."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import cli
from bot.app import build_app
from bot.roles_admin import RoleError, grant_role
from bot.settings import load_settings
from db.models import Resident, RoleGrant, Rt

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
PHONE = "+6281234567001"


def make_app(url: str):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    with app.sessions.begin() as session:
        session.add(Resident(phone=PHONE, name="Siti Rahayu", language="id", opted_out=False, created_at=NOW))
        session.add(Resident(phone="+6281234567002", name=None, language="id", opted_out=False, created_at=NOW))
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/k.db")
    yield app
    app.engine.dispose()


def grant(app, phone, role, rt=None) -> str:
    with app.sessions.begin() as session:
        return grant_role(session, phone, role, rt)


def grants(app, phone=PHONE) -> list[tuple[str, str | None]]:
    with app.sessions() as session:
        rows = session.execute(
            select(RoleGrant.role, Rt.number)
            .join(Resident, Resident.id == RoleGrant.resident_id)
            .outerjoin(Rt, Rt.id == RoleGrant.rt_id)
            .where(Resident.phone == phone)
            .order_by(RoleGrant.role, Rt.number)
        ).all()
        return [tuple(r) for r in rows]


def test_grant_ketua_rt_with_rt(app):
    assert grant(app, "0812-3456-7001", "ketua_rt", "RT 4") == "Siti Rahayu"
    assert grants(app) == [("ketua_rt", "04")]


def test_display_name_falls_back_to_phone(app):
    assert grant(app, "081234567002", "koordinator") == "+6281234567002"


def test_ketua_rt_without_rt_is_refused(app):
    with pytest.raises(RoleError, match="--rt"):
        grant(app, PHONE, "ketua_rt")
    assert grants(app) == []


def test_ketua_rt_with_unknown_rt_is_refused(app):
    with pytest.raises(RoleError, match="RT '42'"):
        grant(app, PHONE, "ketua_rt", "42")


def test_unscoped_role_with_rt_is_refused(app):
    with pytest.raises(RoleError, match="--rt"):
        grant(app, PHONE, "koordinator", "04")
    assert grants(app) == []


def test_unknown_role(app):
    with pytest.raises(RoleError, match="unknown role 'lurah'"):
        grant(app, PHONE, "lurah")


def test_unknown_phone(app):
    with pytest.raises(RoleError, match="import them"):
        grant(app, "081299998888", "admin")


def test_invalid_phone(app):
    with pytest.raises(RoleError):
        grant(app, "0812", "admin")


def test_granting_twice_is_idempotent(app):
    grant(app, PHONE, "ketua_rt", "04")
    grant(app, PHONE, "ketua_rt", "4")
    grant(app, PHONE, "admin")
    grant(app, PHONE, "admin")
    assert grants(app) == [("admin", None), ("ketua_rt", "04")]


def test_ketua_of_two_rts(app):
    grant(app, PHONE, "ketua_rt", "04")
    grant(app, PHONE, "ketua_rt", "05")
    assert grants(app) == [("ketua_rt", "04"), ("ketua_rt", "05")]


def test_warga_clears_extra_roles(app):
    grant(app, PHONE, "ketua_rt", "04")
    grant(app, PHONE, "ketua_rw")
    assert grant(app, PHONE, "warga") == "Siti Rahayu"
    assert grants(app) == []
    with app.sessions() as session:
        assert session.scalars(select(Resident).where(Resident.phone == PHONE)).one()  # resident kept


def test_cli_roles_grant_exit_codes(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/cli.db"
    app = make_app(url)
    monkeypatch.setenv("DATABASE_URL", url)
    base = ["--env-file", "/nonexistent", "roles", "grant"]

    assert cli.main(base + ["081234567001", "ketua_rt", "--rt", "4"]) == 0
    assert "Siti Rahayu" in capsys.readouterr().out
    assert grants(app) == [("ketua_rt", "04")]

    assert cli.main(base + ["081234567001", "ketua_rt"]) == 2
    assert cli.main(base + ["081234567001", "koordinator", "--rt", "4"]) == 2
    assert cli.main(base + ["081299998888", "admin"]) == 2
    assert "import them" in capsys.readouterr().out
    assert grants(app) == [("ketua_rt", "04")]
    app.engine.dispose()
