"""Deployment tests: the Dockerfile run without Docker, nginx in front of two replicas.

The browser fixtures are the reliability tests' (one definition: a module-scoped Chromium, so
no two sync Playwright instances are alive at once in this thread)."""

from tests.reliability.conftest import browser, needs_chromium  # noqa: F401  (fixtures)
