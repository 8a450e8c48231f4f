"""Every registered lesson offers the one interface the lecture layer uses (app/lesson_api.py),
and the lecture layer reaches into no lesson's private members."""

import ast
from pathlib import Path

import pytest

from app.lessons import LESSONS

MEMBERS = ("from_settings", "settings", "apply_settings", "stop_animations", "command",
           "path_rows", "status_text")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_has_the_lecture_interface(key):
    cls = LESSONS[key].cls
    assert cls.key == key
    assert isinstance(cls.link_params, tuple) and cls.link_params
    assert cls.csv_filename is None or cls.csv_filename.endswith(".csv")
    for member in MEMBERS:
        assert callable(getattr(cls, member, None)), f"{cls.__name__} lacks {member}"


@pytest.mark.parametrize("key", list(LESSONS))
def test_a_fresh_lesson_has_no_settings_and_its_settings_rebuild_it(key):
    cls = LESSONS[key].cls
    lesson = cls()
    assert lesson.settings() == {}
    assert isinstance(lesson.status_text(), str) and lesson.status_text()
    lesson.command("step")  # the keyboard's Space: one step of this lesson
    lesson.stop_animations()
    changed = lesson.settings()
    rebuilt = cls.from_settings(changed)
    assert rebuilt.settings() == changed
    rebuilt.apply_settings({})  # whatever is left out returns to its default
    assert rebuilt.settings() == {}


def test_the_lecture_layer_uses_no_private_member_of_a_lesson():
    tree = ast.parse((ROOT / "app" / "lecture.py").read_text())
    private = [f"line {node.lineno}: {node.attr}" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and not node.attr.startswith("__")
               and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]
    assert private == []
