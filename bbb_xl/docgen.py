"""Markdown reference of the BBB_ formulas, generated from the source of `bbb_xl/udfs.py`.

    python -m bbb_xl.docgen > docs/functions.md

Everything comes from the module's source, read with `ast` (the module is not imported, so the result does
not depend on whether xlwings' decorators are real, as on Windows, or no-ops, as on Linux):

- the public functions: the `PUBLIC_FUNCTIONS` list;
- the signature: the `def` (arguments with a default are optional in Excel);
- the description and the example: the docstring (what the Function Wizard shows), split at `Example:`;
- each argument's description: the `doc=` of its `@xw.arg(...)`, also when the decorators are applied by a
  helper decorator of the module (`@_flow_args`); `doc=` may name a module-level string constant;
- the category: `@xw.func(category=...)`.

What a formula returns is not in the decorators; it is kept in `RETURNS` below. `problems()` lists whatever is
missing (no docstring, no `Example:`, a docstring over Excel's 255 characters, an argument without a doc, no
return description), so a test can fail on it.
"""
from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass

MODULE = "bbb_xl.udfs"
MAX_DESCRIPTION = 255  # Application.MacroOptions Description / ArgumentDescriptions limit

_NUMBER = "One number (the cell shows it as a number; format it as currency), exact to the cent"
RETURNS = {
    "BBB_BOOKINGS": f"{_NUMBER}: the Amounts of the lines booked from `start` to `end_period`.",
    "BBB_BILLINGS": f"{_NUMBER}: the invoices dated from `start` to `end_period`.",
    "BBB_REVENUE": f"{_NUMBER}: the revenue recognized from `start` to `end_period`.",
    "BBB_BACKLOG": f"{_NUMBER}: the backlog at the end of `as_of`.",
    "BBB_DEFERRED": f"{_NUMBER}: the deferred revenue at the end of `as_of`.",
    "BBB_UNBILLED": f"{_NUMBER}: the unbilled receivable at the end of `as_of`.",
    "BBB_RPO": "A 3 x 2 array that spills: `Within 12 months`, `After 12 months` and `Total`, each with its "
               "amount.",
    "BBB_DEFERRED_SPLIT": "A 3 x 2 array that spills: `Current`, `Non-current` and `Total`, each with its amount. "
                          "Per contract with deferred revenue L at `as_of`, current = the smaller of L and its "
                          "revenue scheduled in the 12 months after `as_of` (the RPO window); non-current = L "
                          "minus current; Total = `BBB_DEFERRED`.",
    "BBB_SCHEDULE": "A table that spills: a header row (the `group_by` column name, or `Total`, then one label "
                    "per period such as `2025-01`, `2025-Q1` or `2025`), one row per `group_by` value (sorted, "
                    "case ignored) and a `Total` row. Flows are per period; balances are at each period's end.",
    "BBB_ALLOCATE": "The allocated amounts, exact to the cent and summing to `total`, spilled in the shape of "
                    "`ssps` (a column spills down, a row across).",
    "BBB_CHECK": "A table that spills: the header `Row, Column, Value, Severity, Problem` and one row per "
                 "problem (row 1 is the header row of the range; problems of the events range show as `Events N`); or one row "
                 "`OK | n lines, no problems`.",
    "BBB_EXPLAIN": "A 2-column table that spills: the header `Item, Value`, then the contract's (and each line's) "
                   "terms, the recognition weights in days (and months for a monthly line), the cumulative amounts "
                   "before the period and at its end, unrounded (6 decimals) and rounded to the cent, the "
                   "rounding, the events applied (date, treatment), the allocation, the FX rate, each line's "
                   "result and a last row `Result`: the same figure as `BBB_REVENUE` (or `BBB_BILLINGS`, "
                   "`BBB_BOOKINGS`) for that contract (and line) and period. Dates are ISO text.",
    "BBB_MRR": f"{_NUMBER}: the sum of the customers' MRRs at the end of `as_of` (docs/metrics.md).",
    "BBB_ARR": f"{_NUMBER}: the sum of the customers' ARRs at the end of `as_of` (docs/metrics.md).",
    "BBB_ARR_BRIDGE": "A table that spills: a header row (`ARR`, then one label per period), then the rows "
                      "`Opening ARR`, `New`, `Reactivation`, `Expansion`, `Contraction`, `Churn` and `Closing ARR`; "
                      "in every column the opening plus the movements is the closing, exactly.",
    "BBB_NRR": "One number, a ratio (1.07 = 107%): net revenue retention over the 12 months ending `as_of`.",
    "BBB_GRR": "One number, a ratio (0.93 = 93%): gross revenue retention over the 12 months ending `as_of`.",
    "BBB_CUSTOMERS": "One whole number: the customers with ARR above 0 at the end of `as_of`.",
    "BBB_COVERAGE": "One number, a ratio: the RPO due within 12 months of `as_of` over the revenue of the 12 months "
                    "ending `as_of`.",
    "BBB_ALERTS": "A table that spills: the header `Severity, Rule, Period, Figure, Threshold, Explanation`, then one "
                  "row per alert, newest first; or one cell `No alerts`. Rules and defaults: bbb_xl/engine/alerts.py "
                  "and the README's Alerts section.",
    "BBB_FORECAST": "A table that spills: a header row (the metric: `Revenue`, `Billings`, `Bookings` or `ARR`, "
                    "then one label per period), then the rows `Contracted`, `Renewals`, `Pipeline` and `Total` "
                    "(the sum of the three in every period). Arithmetic: docs/forecast.md.",
    "BBB_VARIANCE": "A table that spills: a header row (the metric, then one label per period), then the rows "
                    "`Actual`, `Plan`, `Variance` (actual minus plan) and `Variance %` (variance divided by plan, a "
                    "ratio: 0.05 = 5%); a period without a plan, or with a plan of 0, leaves its Plan (or its "
                    "Variance %) blank. Quarters and years add up flow plan months and take a balance plan's last "
                    "month (docs/plan.md).",
    "BBB_REFUND_LIABILITY": f"{_NUMBER}: the refund liability at the end of `as_of`, kept out of `BBB_DEFERRED`.",
}
ERROR_RETURN = ("If the formula can't answer, the cell shows one line of text that starts with `#BBB!` and names "
                "the row and the column, or the argument, at fault.")


@dataclass(frozen=True)
class Argument:
    name: str
    optional: bool
    doc: str | None
    convert: str | None = None


@dataclass(frozen=True)
class FunctionDoc:
    name: str
    arguments: tuple
    docstring: str | None  # the source docstring on one line (what `formula` hands to xlwings, hence Excel)
    category: str | None

    @property
    def text(self) -> str:
        return " ".join((self.docstring or "").split())

    @property
    def description(self) -> str:
        return self.text.split("Example:", 1)[0].strip()

    @property
    def example(self) -> str | None:
        parts = self.text.split("Example:", 1)
        return parts[1].strip() or None if len(parts) == 2 else None

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(f'[{a.name}]' if a.optional else a.name for a in self.arguments)})"

    @property
    def returns(self) -> str | None:
        return RETURNS.get(self.name)


def _source(module: str) -> tuple[str, str]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ImportError(f"no module {module}")
    with open(spec.origin, encoding="utf-8") as f:
        return f.read(), spec.origin


def _xlwings_alias(tree: ast.Module) -> str:
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "xlwings":
                    return alias.asname or "xlwings"
    return "xw"


def collect(module: str = MODULE) -> list[FunctionDoc]:
    """The public functions of `module` with their documentation, in `PUBLIC_FUNCTIONS` order."""
    source, path = _source(module)
    tree = ast.parse(source, path)
    xw = _xlwings_alias(tree)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    constants: dict[str, object] = {}
    public: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    public = list(constants.get("PUBLIC_FUNCTIONS", []))

    def value(node):
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id]
        return ast.literal_eval(node)

    def xw_call(node) -> str | None:
        """'arg' / 'func' when node is a call of xw.arg(...) / xw.func(...)."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == xw:
            return node.func.attr
        return None

    def decorator_calls(node, seen=()) -> list[ast.Call]:
        """The xw.* calls a decorator expression makes, following the module's own helper decorators."""
        if xw_call(node):
            return [node]
        if isinstance(node, ast.Name) and node.id in functions and node.id not in seen:
            helper = functions[node.id]
            calls = [c for c in ast.walk(helper) if xw_call(c)]
            for d in helper.decorator_list:
                calls += decorator_calls(d, seen + (node.id,))
            return calls
        return []

    out = []
    for name in public:
        fn = functions.get(name)
        if fn is None:
            out.append(FunctionDoc(name, (), None, None))
            continue
        arg_docs: dict[str, str] = {}
        converters: dict[str, str] = {}
        category = None
        for dec in fn.decorator_list:
            for call in decorator_calls(dec):
                kw = {k.arg: value(k.value) for k in call.keywords if k.arg}
                if xw_call(call) == "func":
                    category = kw.get("category", category)
                elif call.args:
                    arg = value(call.args[0]).lstrip("*")
                    if "doc" in kw:
                        arg_docs[arg] = kw["doc"]
                    if len(call.args) > 1:
                        converters[arg] = value(call.args[1])
        params = fn.args.posonlyargs + fn.args.args
        n_required = len(params) - len(fn.args.defaults)
        arguments = tuple(Argument(a.arg, i >= n_required, arg_docs.get(a.arg), converters.get(a.arg))
                          for i, a in enumerate(params))
        doc = ast.get_docstring(fn, clean=False)
        out.append(FunctionDoc(name, arguments, " ".join(doc.split()) if doc else doc, category))
    return out


def problems(docs: list[FunctionDoc] | None = None) -> list[str]:
    """Everything undocumented, as messages (empty when the reference is complete)."""
    docs = collect() if docs is None else docs
    found = []
    if not docs:
        found.append(f"{MODULE}: PUBLIC_FUNCTIONS is empty or missing")
    for d in docs:
        if not d.docstring:
            found.append(f"{d.name}: no docstring (or no such function)")
            continue
        if len(d.docstring) > MAX_DESCRIPTION:
            found.append(f"{d.name}: docstring is {len(d.docstring)} characters; Excel shows {MAX_DESCRIPTION}")
        if not d.example:
            found.append(f"{d.name}: docstring has no 'Example:'")
        elif not d.example.startswith(f"={d.name}("):
            found.append(f"{d.name}: example {d.example!r} does not start with ={d.name}(")
        if not d.description:
            found.append(f"{d.name}: docstring has no description before 'Example:'")
        if not d.category:
            found.append(f"{d.name}: no @xw.func(category=...)")
        if not d.returns:
            found.append(f"{d.name}: no return description in bbb_xl.docgen.RETURNS")
        for a in d.arguments:
            if not a.doc or not a.doc.strip():
                found.append(f"{d.name}: argument '{a.name}' has no @xw.arg(..., doc=...)")
            elif len(a.doc) > MAX_DESCRIPTION:
                found.append(f"{d.name}: argument '{a.name}' doc is over {MAX_DESCRIPTION} characters")
    return found


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# Measured with benchmarks/bench_udf_cost.py (Python side, COM marshalling excluded): Excel hands every range
# argument over again on each call, so the number of formulas over a big table matters more than their kind.
SPEED_NOTE = (
    "**Speed in Excel.** Excel hands a formula's whole range over again every time the formula recalculates "
    "(Python side, COM marshalling excluded: about 41 ms for a 10,000-line table, 0.8 s for 100,000 lines, on "
    "this project's 2-core machine). So fill a table with **one spilled `BBB_SCHEDULE`** rather than hundreds of "
    "single-cell formulas: a 36-month revenue table over 10,000 lines took 44.8 s as 500 single-cell "
    "`BBB_REVENUE` formulas and 0.14 s as one spilled `BBB_SCHEDULE`. The formulas do not compute while the "
    "Function Wizard is open (`call_in_wizard=False`), and an unchanged table is recognised in one comparison "
    "(12 ms at 10,000 lines), never parsed twice.")


def function_reference(module: str = MODULE) -> str:
    """The Markdown reference of every public function of `module`."""
    docs = collect(module)
    lines = [
        "# BBB_ function reference",
        "",
        f"<!-- Generated by `python -m bbb_xl.docgen > docs/functions.md` from `{module}`. Do not edit by hand:"
        " tests/test_function_docs.py fails when this file is stale. -->",
        "",
        "The BBB_ formulas work in Windows desktop Excel once the xlwings add-in has imported them (see "
        "[excel.md](excel.md)). In the Function Wizard (fx) they are in the category "
        f"`{docs[0].category if docs else ''}`. Arguments in [brackets] are optional: leave them out, or leave "
        "them empty (`\"\"`).",
        "",
        "Periods are written `2025-01` (a month), `2025-Q1` (a quarter), `2025` (a year), `2025-01-15` (a day), "
        "or given as a date (`DATE(2025,1,15)` or a date cell). Money is exact to the cent.",
        "",
        ERROR_RETURN,
        "",
        SPEED_NOTE,
        "",
        "| Function | What it answers |",
        "| :--- | :--- |",
    ]
    for d in docs:
        lines.append(f"| [{d.name}](#{d.name.lower()}) | {_cell(d.description)} |")
    for d in docs:
        lines += ["", f"## {d.name}", "", "```", f"={d.signature}", "```", "", d.description or "(undocumented)",
                  "", "| Argument | | Description |", "| :--- | :--- | :--- |"]
        for a in d.arguments:
            lines.append(f"| `{a.name}` | {'optional' if a.optional else 'required'} | "
                         f"{_cell(a.doc) if a.doc else '(undocumented)'} |")
        lines += ["", f"**Returns:** {d.returns or '(undocumented)'} {ERROR_RETURN}", ""]
        lines += ["**Example:**", "", "```", d.example or "(none)", "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(function_reference())


if __name__ == "__main__":
    main()
