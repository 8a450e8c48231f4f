"""A small reader for the Dockerfile and .dockerignore (no Docker engine on these machines:
the tests read what the image would do and run it here)."""

import json
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions(path=DOCKERFILE):
    """[(INSTRUCTION, arguments)] in order: continuation lines joined, comments dropped."""
    result, pending = [], ""
    for line in Path(path).read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            keyword, _, arguments = full.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
    return result


def exec_form(arguments):
    """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD."""
    command = json.loads(arguments)
    if not (isinstance(command, list) and all(isinstance(a, str) for a in command)):
        raise ValueError(f"not an exec-form command: {arguments}")
    return command


def last(keyword, path=DOCKERFILE):
    found = [arguments for key, arguments in instructions(path) if key == keyword]
    if not found:
        raise LookupError(f"no {keyword} in {path}")
    return found[-1]


def cmd(path=DOCKERFILE):
    return exec_form(last("CMD", path))


def environment(path=DOCKERFILE):
    """Every ENV KEY=VALUE (the later one wins, as in the image)."""
    env = {}
    for key, arguments in instructions(path):
        if key == "ENV":
            for word in shlex.split(arguments):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def healthcheck(path=DOCKERFILE):
    """(options dict, command list) of the HEALTHCHECK."""
    options_text, _, command = last("HEALTHCHECK", path).partition("CMD")
    options = {}
    for word in shlex.split(options_text):
        name, _, value = word.removeprefix("--").partition("=")
        options[name] = value
    return options, exec_form(command.strip())


def ignore_patterns(path=DOCKERIGNORE):
    return [
        line.strip() for line in Path(path).read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def is_ignored(relative_path, patterns):
    """Docker's rule: a path is left out when it, or a folder above it, matches a pattern
    (`**` matches any number of folders; a later `!pattern` takes a path back)."""
    parts = Path(relative_path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        expression = _pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(expression.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def _pattern_regex(pattern):
    """Go's filepath.Match plus Docker's `**`: `*` and `?` stay within one folder name."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
