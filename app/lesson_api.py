"""The lecture layer's interface to a lesson, and the helpers the lessons share to offer it.

Every lesson class (app/lessons.py registers them) has:

- `key` (class attribute): its name in links and the registry ("derivative", "descent", …);
- `link_params` (class attribute): the parameters whose change updates the link;
- `csv_filename` (class attribute): the name of its path download (None: it has no path);
- `from_settings(settings)` (classmethod): a new lesson with a link's settings;
- `settings()`: its settings in url_state's terms, only what differs from a fresh lesson;
- `apply_settings(settings)`: set them on a built lesson; whatever is left out returns to
  its default;
- `stop_animations()`: stop whatever the server animates (nothing where the browser plays);
- `path_rows()`: its current path(s) as CSV rows (CSV_COLUMNS);
- `status_text()`: the live status sentence (aria-live) for where the lesson is now;
- `load_preset(name)` where the lesson has presets of its own (lesson 3).
"""

import csv
import io

CSV_COLUMNS = ("step", "x", "y", "loss", "optimizer", "lr")


def csv_number(value):
    """A number in the CSV: every digit of the float (repr)."""
    return repr(float(value))


def paths_csv(rows):
    """The CSV file (a StringIO at its start) of `rows` under CSV_COLUMNS."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    out.seek(0)
    return out


def changed_settings(lesson, names, defaults):
    """The lesson's parameters among `names` whose value differs from `defaults` (a start
    point compares as a tuple of floats)."""
    settings = {}
    for name in names:
        value = getattr(lesson, name)
        if name == "start":
            value = tuple(float(v) for v in value)
        if value != defaults[name]:
            settings[name] = value
    return settings
