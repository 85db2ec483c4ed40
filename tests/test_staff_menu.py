"""The staff menu is for staff only; residents are refused even when they ask by name."""
from sqlalchemy import select

from bot.roles_admin import grant_role
from db.models import Resident


def test_residents_do_not_see_or_enter_the_staff_menu(sri):
    sri.says("menu").at("help", "menu")
    assert "Menu pengurus" not in sri.says("menu").choices
    sri.says("menu pengurus").hears("khusus pengurus").at("help", "menu")


def test_an_rt_head_sees_and_enters_the_staff_menu(sri, app):
    with app.sessions.begin() as session:
        grant_role(session, "+6281234567001", "ketua_rt", "04")
    sri.says("menu").offers("Menu pengurus")
    sri.says("pengurus").hears("Menu pengurus, Bu Sri").at("staff", "menu")
    sri.says("menu").at("help", "menu")
    with app.sessions() as session:
        assert session.scalars(select(Resident.name)).one() == "Bu Sri"


def test_the_staff_menu_lists_only_what_the_role_may_open(sri, app):
    with app.sessions.begin() as session:
        grant_role(session, "+6281234567001", "ketua_rt", "04")
    rt_head = sri.says("pengurus").choices
    assert "Gambaran kampung" not in " ".join(rt_head)
    with app.sessions.begin() as session:
        grant_role(session, "+6281234567001", "koordinator", None)
    assert len(sri.says("pengurus").choices) > len(rt_head)
