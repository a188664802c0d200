"""Counting the CPU instructions of a measured loop with valgrind's callgrind.

The measured process calls :func:`before` just before its loop and :func:`after` just after
it; run under :func:`command`, callgrind zeroes its counters when ``math.gcd`` is entered and
writes a numbered dump (``OUT.1``, ``OUT.2``, ...) when ``math.lcm`` is, so each dump holds
exactly one loop, whatever the process did around it. Every thread is counted into the same
dump (``--separate-threads=no``), so work handed to a worker thread (``asyncio.to_thread``)
is in the figure. Instructions run in the kernel, and time spent waiting on a socket, are not.

Needs valgrind (``apt-get install valgrind``) and a Python whose ``math`` module keeps its
symbol table (pyenv and python.org builds do).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

# The interpreter's own frames, in every Python call chain: left out of the top functions.
INTERPRETER = frozenset(
    """main Py_BytesMain Py_RunMain _PyRun_AnyFileObject _PyRun_SimpleFileObject run_mod
    run_eval_code_obj PyEval_EvalCode _PyEval_EvalFrameDefault _PyEval_EvalFrame _PyEval_Vector
    _PyFunction_Vectorcall PyObject_Vectorcall _PyObject_VectorcallTstate PyObject_Call
    _PyObject_Call _PyObject_Call_Prepend _PyObject_MakeTpCall slot_tp_call method_vectorcall
    builtin_exec builtin_exec_impl cfunction_vectorcall_FASTCALL cfunction_vectorcall_O
    cfunction_vectorcall_FASTCALL_KEYWORDS cfunction_call vectorcall_method
    method_vectorcall_FASTCALL method_vectorcall_O method_vectorcall_NOARGS
    method_vectorcall_VARARGS_KEYWORDS method_vectorcall_FASTCALL_KEYWORDS
    _PyObject_VectorcallMethod PyObject_CallOneArg _PyObject_FastCallDictTstate gen_send_ex
    gen_send_ex2 gen_send gen_iternext _PyGen_Send task_step task_step_impl task_wakeup
    context_run _PyContext_Run thread_run t_bootstrap start_thread clone clone3
    pythread_wrapper run_mod.constprop.0""".split()  # noqa: SIM905 - a word list reads better as words
)
# CPython's object model and eval loop: in every call path, so they say nothing about where a
# request's instructions go. What is left is extension modules (_json.c, _hashopenssl.c,
# socketmodule.c, _asynciomodule.c ...), the libraries they call and the C library.
CORE = ("/Objects/", "/Python/", "/Include/", "/Programs/", "/Modules/main.c",
        "/Modules/_functoolsmodule.c", "/Modules/gcmodule.c")  # fmt: skip
ZERO_AT = "math_gcd"
DUMP_AT = "math_lcm"
HANDSHAKE = "CALLGRIND_HANDSHAKE"  # set for a process started with instrumentation off


def before() -> None:
    """Marks the start of a measured loop: callgrind zeroes its counters here."""
    math.gcd(1, 1)


def after() -> None:
    """Marks its end: callgrind dumps the loop's counts here."""
    math.lcm(1, 1)


def instrumentation_on() -> None:
    """In a process that :func:`run` started with ``set_up_first``: return once callgrind
    instruments this process, so that what ran before (imports, set-up) ran at near-native
    speed. Elsewhere it returns at once."""
    directory = os.environ.get(HANDSHAKE)
    if not directory:
        return
    Path(directory, "ready").touch()
    go = Path(directory, "go")
    while not go.exists():  # busy: callgrind serves its control requests between blocks
        pass


def command(out: Path, argv: list[str], set_up_first: bool = False) -> list[str]:
    """``argv`` run under callgrind, its dumps written to ``out.N``."""
    return [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        "--separate-threads=no", f"--zero-before={ZERO_AT}", f"--dump-before={DUMP_AT}",
        f"--instr-atstart={'no' if set_up_first else 'yes'}", *argv,
    ]  # fmt: skip


def run(out: Path, argv: list[str], expected: int, set_up_first: bool = False) -> list[Path]:
    """Run ``argv`` under callgrind; return its ``expected`` dumps, in the order taken.

    With ``set_up_first`` the process starts uninstrumented and is instrumented (through
    ``callgrind_control``) when it calls :func:`instrumentation_on`: several times faster
    for a process whose imports and set-up outweigh its measured loops.
    """
    with tempfile.TemporaryDirectory() as handshake, tempfile.TemporaryFile("w+") as errors:
        env = {**os.environ, HANDSHAKE: handshake} if set_up_first else None
        process = subprocess.Popen(
            command(out, argv, set_up_first), stdout=subprocess.DEVNULL, stderr=errors, env=env
        )
        if set_up_first:
            _switch_on(process, Path(handshake))
        returncode = process.wait()
        errors.seek(0)
        stderr = errors.read()
    dumps = [out.with_name(f"{out.name}.{n}") for n in range(1, expected + 1)]
    missing = [dump.name for dump in dumps if not dump.exists()]
    if returncode or missing:
        raise RuntimeError(
            f"callgrind run failed (exit {returncode}, missing dumps {missing}):\n{stderr[-3000:]}"
        )
    return dumps


def _switch_on(process: subprocess.Popen[bytes], handshake: Path) -> None:
    while not (handshake / "ready").exists():
        if process.poll() is not None:
            return  # it failed during set-up: run() reports it
        time.sleep(0.05)
    subprocess.run(
        ["callgrind_control", "--instr=on", str(process.pid)],
        stdout=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    (handshake / "go").touch()


def per_call(argv: list[str], calls: int) -> float:
    """Instructions per call of the one loop of ``calls`` calls that ``argv`` runs between
    :func:`before` and :func:`after`; RuntimeError if the run fails or dumps nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        (dump,) = run(Path(tmp) / "callgrind.out", argv, expected=1)
        return instructions(dump) / calls


def instructions(dump: Path) -> int:
    """The total instructions a dump counted."""
    match = re.search(r"^summary: (\d+)", dump.read_text(), re.M)
    if match is None:
        raise ValueError(f"{dump} has no summary line")
    return int(match.group(1))


def inclusive(dump: Path, top: int) -> list[tuple[int, str]]:
    """The ``top`` functions by inclusive instructions (``callgrind_annotate --inclusive=yes``)
    outside CPython's core (:data:`CORE`), each once (recursive entries merged)."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+) \([ \d.]+%\)\s+(\S+)", line)
        if match is None or match.group(2) == "PROGRAM":
            continue
        where, _, function = match.group(2).rpartition(":")
        function = function.split("'", 1)[0]  # "f'2": f called recursively
        if any(part in where for part in CORE) or function in INTERPRETER:
            continue
        if function.startswith(("0x", "(below", "__libc")):
            continue
        name = f"{Path(where).name}:{function}"
        if name not in seen:
            seen.add(name)
            rows.append((int(match.group(1).replace(",", "")), name))
    return rows[:top]
