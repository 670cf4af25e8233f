"""Where the standards' own validators live once deploy/local/install-deps
ran: the PyPI ones in the venv it makes ($QUAKECAST_CACHE_DIR/st-venv), the
Go ones built into $QUAKECAST_CACHE_DIR/tools. A missing tool fails the
test (tests/run installs them all); set QUAKECAST_STANDARDS_OPTIONAL=1 to
skip instead while developing on a machine without them."""

import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("QUAKECAST_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "quakecast")
VENV_BIN = os.path.join(CACHE, "st-venv", "bin")


def pinned(name):
    """The version install-deps pins for NAME (its NAME_VERSION= line)."""
    with open(os.path.join(REPO, "deploy", "local", "install-deps")) as f:
        m = re.search(r"^%s_VERSION=(\S+)$" % name, f.read(), re.M)
    assert m, "no %s_VERSION in deploy/local/install-deps" % name
    return m.group(1)


def need(path, what):
    if os.path.exists(path) and os.access(path, os.X_OK):
        return path
    if os.environ.get("QUAKECAST_STANDARDS_OPTIONAL") == "1":
        pytest.skip("%s not installed (%s)" % (what, path))
    pytest.fail("%s not installed at %s: run deploy/local/install-deps" % (what, path))


def venv_tool(name):
    return need(os.path.join(VENV_BIN, name), name)


def venv_python():
    return need(os.path.join(VENV_BIN, "python3"), "the st-venv Python")


def promtool():
    v = pinned("PROMTOOL")
    return need(os.path.join(CACHE, "tools", "promtool-" + v, "promtool"), "promtool " + v)
