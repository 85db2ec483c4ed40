"""Exports and charts made for one message are removed after a week, checked at most
hourly; other files under DATA_DIR (report photos) are never touched."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from scheduler.due import DueTasks


def make_file(path: Path, age: timedelta, now) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    stamp = (now - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_old_exports_and_charts_go_new_ones_and_photos_stay(app, clock):
    data, now = Path(app.settings.data_dir), clock.now()
    old_export = make_file(data / "exports" / "laporan-1.xlsx", timedelta(days=8), now)
    old_chart = make_file(data / "charts" / "overview-1.png", timedelta(days=30), now)
    fresh = make_file(data / "exports" / "laporan-2.csv", timedelta(days=2), now)
    photo = make_file(data / "reports" / "LPR-0001-1.jpg", timedelta(days=90), now)
    DueTasks.of(app).run(now)
    assert not old_export.exists() and not old_chart.exists()
    assert fresh.exists() and photo.exists()


def test_the_check_runs_at_most_hourly_and_remembers_across_restarts(app, clock):
    data, now = Path(app.settings.data_dir), clock.now()
    DueTasks.of(app).run(now)
    late = make_file(data / "exports" / "laporan-3.xlsx", timedelta(days=9), now)
    DueTasks.of(app).run(now + timedelta(minutes=30))
    assert late.exists()
    DueTasks.of(app).run(now + timedelta(minutes=61))
    assert not late.exists()
