"""Hypothesis strategies for hostile input: Cookie headers, near-valid cookie values, JSON
source text with the tokens that used to slip through, and cookie attributes."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import strategies as st

# Any code point, lone surrogates included (st.text() leaves them out).
any_char = st.characters(codec=None, exclude_categories=())
surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.text(any_char, max_size=60)


def near(valid: str) -> st.SearchStrategy[str]:
    """Values close to the valid cookie value ``valid``: cut, re-encoded, with one character
    changed or a surrogate put in, quoted, repeated to a huge size."""
    size = len(valid)
    return st.one_of(
        st.integers(0, size).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, size - 1), any_char | surrogate).map(
            lambda at: valid[: at[0]] + at[1] + valid[at[0] + 1 :]
        ),
        st.tuples(st.integers(0, size), surrogate).map(
            lambda at: valid[: at[0]] + at[1] + valid[at[0] :]
        ),
        st.sampled_from(
            [
                valid,
                quote(valid, safe=""),
                valid.replace(".", "%2E"),
                base64.urlsafe_b64encode(valid.encode()).decode(),
                valid.swapcase(),
                f'"{valid}"',
                f"{valid}.{valid}",
                valid + "=",
                valid.encode().decode("utf-16-le", "replace"),
            ]
        ),
        st.integers(2, 2000).map(lambda n: valid * n),
    )


def cookie_headers(valid: str) -> st.SearchStrategy[str]:
    """Whole Cookie headers: random text, or pairs joined the ways clients and servers join
    them, whose names are close to ``session`` and whose values are close to ``valid``."""
    names = st.sampled_from(["session", "Session", " session", "session ", "sessionx", "a", ""])
    values = near(valid) | any_text
    pair = st.tuples(names | any_text, st.sampled_from(["=", "", " = ", "=="]), values).map("".join)
    separator = st.sampled_from(["; ", ";", ", ", ",", " ;\t", ";;"])
    joined = st.lists(st.tuples(pair, separator), max_size=6).map(
        lambda parts: "".join(p + s for p, s in parts)
    )
    return joined | any_text


def as_latin1(text: str) -> str:
    """``text`` as a WSGI server would pass a header holding its UTF-8 bytes."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


# JSON source text, valid or nearly: the numbers and escapes that Python decodes to values it
# cannot encode again (NaN, Infinity, 1e400, lone surrogates) among ordinary ones.
json_numbers = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1E+999", "1e308", "-0", "0.0e0"]),
    st.tuples(st.integers(-(10**20), 10**20), st.integers(-999, 999)).map("{0[0]}e{0[1]}".format),
    st.tuples(st.integers(290, 420), st.sampled_from(["", ".5"])).map(
        lambda size: "1" + "0" * size[0] + size[1]  # around a float's range, and past it
    ),
)
json_escape = st.one_of(
    st.integers(0, 0xFFFF).map(lambda n: f"\\u{n:04x}"),
    st.integers(0xD800, 0xDFFF).map(lambda n: f"\\u{n:04X}"),
    st.sampled_from(["\\n", '\\"', "\\\\", "\\/", "\\ud83d\\ude00", "\\x", "\\"]),
)
json_strings = st.lists(st.text(max_size=5) | json_escape, max_size=4).map(
    lambda parts: '"' + "".join(parts) + '"'
)
json_scalars = json_numbers | json_strings | st.sampled_from(["true", "false", "null"])
json_text = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(json_strings, inner), max_size=4).map(
            lambda items: "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
        ),
    ),
    max_leaves=6,
)
json_objects = st.lists(st.tuples(json_strings, json_text), max_size=4).map(
    lambda items: "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
)
