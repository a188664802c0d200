"""The documentation keeps up with the code: every store option, every manager option and
every adapter module is named in docs/. (The site itself is built by ``scripts/docs.sh``,
which CI runs with warnings as errors.)"""

from __future__ import annotations

import inspect
import pkgutil
from pathlib import Path

import pytest

import sessionkit.adapters
from sessionkit import SessionManager

DOCS = Path(__file__).resolve().parent.parent / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def all_pages() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md"))


def backend_options(module: str, attribute: str) -> list[str]:
    return list(getattr(pytest.importorskip(module), attribute))


@pytest.mark.parametrize(
    ("module", "attribute", "doc"),
    [
        ("sessionkit_redis", "OPTION_DEFAULTS", "stores/redis.md"),
        ("sessionkit_memcached", "OPTION_DEFAULTS", "stores/memcached.md"),
        ("sessionkit_sql", "OPTIONS", "stores/sql.md"),
    ],
)
def test_every_option_of_a_backend_is_on_its_page(module: str, attribute: str, doc: str) -> None:
    text = page(doc)
    missing = [name for name in backend_options(module, attribute) if f"`{name}`" not in text]
    assert not missing, f"docs/{doc} does not name these options: {missing}"


def test_every_manager_option_is_documented() -> None:
    text = all_pages()
    names = [name for name in inspect.signature(SessionManager).parameters if name != "self"]
    missing = [name for name in names if f"`{name}" not in text]
    assert not missing, f"docs/ never names these SessionManager options: {missing}"


def test_every_adapter_has_a_reference_and_a_page() -> None:
    reference = page("reference/adapters.md")
    frameworks = page("frameworks/index.md")
    modules = [
        info.name
        for info in pkgutil.iter_modules(sessionkit.adapters.__path__)
        if not info.name.startswith("_")
    ]
    assert modules, "no adapter modules found"
    missing = [name for name in modules if f"sessionkit.adapters.{name}" not in reference]
    assert not missing, f"docs/reference/adapters.md leaves out: {missing}"
    unlisted = [name for name in modules if f"sessionkit.adapters.{name}" not in frameworks]
    unlisted = [name for name in unlisted if name != "tokens"]  # a transport, not a framework
    assert not unlisted, f"docs/frameworks/index.md does not list: {unlisted}"


def test_the_reference_covers_every_public_module() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in (DOCS / "reference").glob("*"))
    left_out = {"sessionkit.cli", "sessionkit.demo"}  # the command line has its own page
    missing = []
    for info in pkgutil.walk_packages(sessionkit.__path__, "sessionkit."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")) or name in left_out:
            continue
        if name.startswith(("sessionkit.demo.", "sessionkit.testing.")):
            continue  # the demo app; the contract suite's internals
        if f"automodule:: {name}\n" not in text:
            missing.append(name)
    assert not missing, f"docs/reference/ leaves out: {missing}"


@pytest.mark.parametrize("package", ["sessionkit_redis", "sessionkit_memcached", "sessionkit_sql"])
def test_the_reference_covers_every_module_of_a_backend(package: str) -> None:
    module = pytest.importorskip(package)
    text = page("reference/backends.md")
    names = [f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__)]
    missing = [name for name in [package, *names] if f"automodule:: {name}\n" not in text]
    assert not missing, f"docs/reference/backends.md leaves out: {missing}"
