"""LaTeX formulas → sympy (lark backend) and the "where $x$ is the …" quantities around them."""

from __future__ import annotations

import functools
import re

_NAMED = re.compile(r"\\(?:mathrm|text|textrm|operatorname|mathit|mathsf|mathbf)\s*\{([^{}]*)\}")
_WHERE = re.compile(
    r"\$(?P<sym>[^$]+)\$\s*(?:is|denotes|represents|stands for|=)?\s*(?:the\s+)?(?P<q>[^,;$]+?)"
    r"\s*(?=,|;|\.\s|\.$|\s+and\s+\$|$)"
)


def _prepare(latex: str) -> tuple[str, dict[str, str]]:
    """Replace multi-letter names (\\mathrm{PE}) by placeholder symbols sympy can parse."""
    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        name = re.sub(r"\W", "", m.group(1)) or "x"
        ph = f"Z_{{qz{chr(97 + len(names) % 26)}{chr(97 + len(names) // 26 % 26)}}}"
        names[ph] = name
        return f" {ph} "

    s = _NAMED.sub(sub, latex)
    s = re.sub(r"\\tag\{[^}]*\}|\\label\{[^}]*\}|\\[,;:!]|\\quad|\\qquad|&", " ", s)
    s = s.replace("\\left", "").replace("\\right", "").replace("\\cdot", "*").replace("\\times", "*")
    return s.strip().rstrip(".,"), names


@functools.lru_cache(maxsize=4096)
def parse_formula(latex: str):
    """sympy expression for `latex` (lark backend, memoised); raises ValueError with the parser's reason."""
    import sympy
    from sympy.parsing.latex import parse_latex

    s, names = _prepare(latex)
    if not s:
        raise ValueError("empty formula")
    try:
        expr = parse_latex(s, backend="lark")
    except Exception as e:  # lark raises its own hierarchy
        msg = " ".join(str(e).split())[:160]
        raise ValueError(f"sympy cannot parse the LaTeX ({type(e).__name__}: {msg})") from None
    if names:
        expr = expr.xreplace({s: sympy.Symbol(names[str(s.name)]) for s in expr.free_symbols if str(s.name) in names})
    return expr


def formula_srepr(expr) -> str:
    """sympy.srepr with plain-string symbol names (lark leaves its Token objects as names)."""
    import sympy

    return re.sub(r"Token\('[A-Z_]+',\s*('(?:[^'\\]|\\.)*')\)", r"\1", sympy.srepr(expr))


def symbol_name(latex_symbol: str) -> str:
    """The sympy name a LaTeX symbol parses to ('\\rho' -> 'rho', 'F_1' -> 'F_{1}', '\\mathrm{PE}' -> 'PE')."""
    s = latex_symbol.strip()
    m = re.fullmatch(r"\\?([A-Za-z]+)", s) or _NAMED.fullmatch(s)
    if m and (len(m.group(1)) == 1 or s.startswith("\\")):  # x, \rho, \mathrm{PE} (fast path, no parser)
        return m.group(1)
    m = re.fullmatch(r"([A-Za-z])_(?:\{(\w+)\}|(\w))", s)
    if m:
        return f"{m.group(1)}_{{{m.group(2) or m.group(3)}}}"
    try:
        e = parse_formula(latex_symbol)
        syms = sorted(e.free_symbols, key=str)
        if len(syms) == 1 and e == syms[0]:
            return str(syms[0])
    except ValueError:
        pass
    return latex_symbol.strip()


def where_quantities(text: str) -> dict[str, str]:
    """{sympy symbol name: quantity} from prose like "where $\\rho$ is the density, $m$ the mass"."""
    out = {}
    for m in _WHERE.finditer(text):
        q = " ".join(m.group("q").split())
        q = re.sub(r"^(?:and|is|the)\s+", "", q)
        if q and len(q) <= 60:
            out[symbol_name(m.group("sym"))] = q
    return out
