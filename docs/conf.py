"""Sphinx configuration of sessionkit's documentation (``scripts/docs.sh build``).

The pages are Markdown (MyST); the API reference comes from the docstrings, which are
written in reStructuredText with Sphinx's roles. The build runs with ``-W -n``: a warning or
a reference that does not resolve fails it.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docutils.nodes import Element
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parent.parent
# The backends are found as installed (editable) packages; the core from the checkout.
sys.path.insert(0, str(ROOT))

import sessionkit  # noqa: E402

try:  # the Django adapter reads settings lazily; autodoc looks at them
    from django.conf import settings as django_settings
except ImportError:
    pass
else:
    django_settings.configure()

project = "sessionkit"
copyright = "sessionkit contributors"
release = version = sessionkit.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}

# Every reference into sessionkit must resolve. References to other projects (the standard
# library, redis-py, Flask …) are not linked: the build runs offline, without intersphinx.
nitpicky = True
EXTERNAL_ROOTS = (
    "collections|datetime|enum|hmac|os|ssl|subprocess|threading|_thread|typing|WSGIApplication"
    "|WSGIEnvironment"
    "|_pytest|pytest|hypothesis|hiredis|itsdangerous|redis|sqlalchemy"
    "|aiohttp|django|falcon|flask|litestar|pyramid|quart|starlette|webob|werkzeug"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"(?:{EXTERNAL_ROOTS})(?:\..+)?"),
    # Type variables, their tuples and parameter specifications in signatures (T, Ts, P.args …).
    (r"py:(?:class|obj)", r"(?:[\w.]+\.)?(?:[A-Z]|[A-Z]_co|Ts|P\.args|P\.kwargs)"),
    # Private bases shown by show-inheritance.
    (r"py:class", r"sessionkit\.[\w.]*\._\w+"),
]
autodoc_inherit_docstrings = False


def resolve_by_name(
    app: Sphinx, env: BuildEnvironment, node: Element, contnode: Element
) -> Element | None:
    """Resolve what a docstring names as Python would see it: ``sessionkit.X`` where ``X``
    is importable from ``sessionkit``, and a short name (``ConfigurationError``,
    ``SessionManager.open``) that names exactly one documented sessionkit object."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    domain = env.get_domain("py")
    documented = domain.objects
    if target.startswith("sessionkit."):
        name, _, rest = target.partition(".")[2].partition(".")
        obj = getattr(sessionkit, name, None)
        canonical = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if None not in canonical:
            target = ".".join(filter(None, (*canonical, rest)))  # type: ignore[arg-type]
    candidates = [name for name in documented if name == target or name.endswith("." + target)]
    candidates = [name for name in candidates if name.startswith("sessionkit")]
    if len(candidates) != 1:
        # A real name that the reference leaves out (a constant without a doc comment, an
        # attribute an __init__ sets) is shown as code; a name that does not exist warns.
        return contnode if exists(node.get("py:module"), target) else None
    return domain.resolve_xref(
        env, node.get("refdoc", ""), app.builder, node["reftype"], candidates[0], node, contnode
    )


def exists(module_name: str | None, target: str) -> bool:
    """Whether ``target`` names something in that module: an attribute, or an attribute of
    a class that its ``__init__`` sets (``Class.name``)."""
    module = sys.modules.get(module_name or "")
    if module is None:
        return False
    owner, _, name = target.rpartition(".")
    if not owner:
        return hasattr(module, name)
    cls = getattr(module, owner, None)
    if not inspect.isclass(cls):
        return False
    return hasattr(cls, name) or f"self.{name} =" in inspect.getsource(cls)


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", resolve_by_name)


html_theme = "furo"
html_title = f"sessionkit {release}"
html_show_sourcelink = False
