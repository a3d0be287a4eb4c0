"""Write the Rust and Python sides of tickcast's core contract from ``contract.toml``.

``python contract/generate.py`` writes ``rust/src/contract.rs`` and ``tickcast/contract.py``;
``--check`` writes nothing and exits 1 naming the stale files (the test suite runs it). Both
files carry a digest of the contract, and tickcast refuses a compiled core whose digest
differs, so a core built before a change of the contract cannot run with the new Python side.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contract" / "contract.toml"
RUST = ROOT / "rust" / "src" / "contract.rs"
PYTHON = ROOT / "tickcast" / "contract.py"
ABOUT = "The names and numbers the compiled core and Python share (see contract.toml)."
HEADER = (
    "Generated from contract/contract.toml by contract/generate.py (make contract): do not edit."
)


def camel(name: str) -> str:
    """``boost_lr`` -> ``BoostLr``: a value's Rust variant, an enum's Rust type."""
    return "".join(part.capitalize() for part in name.split("_"))


def plural(name: str) -> str:
    """``loss`` -> ``LOSSES``, ``model_kind`` -> ``MODEL_KINDS``: the tuple of an enum's values."""
    return (name + ("es" if name.endswith(("s", "x")) else "s")).upper()


def rust_str_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def rust_enum(name: str, values: list[str]) -> str:
    kind = camel(name)
    words = name.replace("_", " ")
    variants = "\n".join(f"    {camel(v)} = {i}," for i, v in enumerate(values))
    names = "\n".join(f'            {kind}::{camel(v)} => "{v}",' for v in values)
    parses = "\n".join(f'            "{v}" => Ok({kind}::{camel(v)}),' for v in values)
    every = ", ".join(f"{kind}::{camel(v)}" for v in values)
    return f"""#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum {kind} {{
{variants}
}}

impl {kind} {{
    pub const ALL: [{kind}; {len(values)}] = [{every}];

    pub fn name(self) -> &'static str {{
        match self {{
{names}
        }}
    }}

    pub fn parse(name: &str) -> Result<Self, String> {{
        match name {{
{parses}
            other => Err(format!("unknown {words} {{other:?}}")),
        }}
    }}
}}
"""


def rust_enums(enums: dict[str, list[str]]) -> str:
    """``enums()``: every enum's values as the compiled core names them (a test compares)."""
    rows = "\n".join(
        f'        ("{name}", {camel(name)}::ALL.iter().map(|v| v.name()).collect()),'
        for name in enums
    )
    return (
        "/// Every enum's values as this build names them, by the contract's name of the enum.\n"
        "pub fn enums() -> Vec<(&'static str, Vec<&'static str>)> {\n"
        f"    vec![\n{rows}\n    ]\n}}\n"
    )


def rust_names(name: str, values: list[str]) -> str:
    return f"pub const {name}: [&str; {len(values)}] = {rust_str_list(values)};"


def rust(contract: dict[str, Any], digest: str) -> str:
    metrics, features, message = contract["metrics"], contract["features"], contract["message"]
    spans = ", ".join(f"{float(s)!r}" for s in features["ema_spans"])
    parts = [
        f"//! {HEADER}\n//!\n//! {ABOUT}\n",
        "#![allow(dead_code)] // Python uses what the core does not\n",
        f'pub const DIGEST: &str = "{digest}";',
        f"pub const STATE_FORMAT: u8 = {contract['state_format']};",
        f'pub const SERVED: &str = "{contract["served"]}";',
        f'pub const BASELINE: &str = "{contract["baseline"]}";\n',
        *(rust_enum(name, values) for name, values in contract["enums"].items()),
        rust_enums(contract["enums"]),
        rust_names("METRIC_NAMES", metrics["names"]),
        f"pub const N_SCORES: usize = {len(metrics['names']) - metrics['own']};",
        f"pub const AUC_BINS: usize = {metrics['auc_bins']};\n",
        f"pub const N_LAGS: usize = {features['lags']};",
        f"pub const EMA_SPANS: [f64; {len(features['ema_spans'])}] = [{spans}];",
        rust_names("REST_FEATURES", features["rest"]),
        rust_names("CALENDAR_FEATURES", features["calendar"]) + "\n",
        f'pub const ENTRIES_FIELD: &str = "{message["entries"]}";',
        rust_names("SHARED_FIELDS", message["shared"]),
        rust_names("PER_MODEL_FIELDS", message["per_model"]),
    ]
    return "\n".join(parts) + "\n"


def py_tuple(values: list[Any]) -> str:
    return "(" + ", ".join(repr(v) for v in values) + ("," if len(values) == 1 else "") + ")"


def python(contract: dict[str, Any], digest: str) -> str:
    metrics, features, message = contract["metrics"], contract["features"], contract["message"]
    lines = [
        f'"""{HEADER}\n\n{ABOUT}"""\n',
        "from dataclasses import dataclass",
        "from typing import Final, Literal\n",
        f"DIGEST: Final = {digest!r}",
        f"STATE_FORMAT: Final = {contract['state_format']}",
        f"SERVED: Final = {contract['served']!r}",
        f"BASELINE: Final = {contract['baseline']!r}\n",
    ]
    for name, values in contract["enums"].items():
        kind = camel(name)
        lines.append(f"{kind} = Literal[{', '.join(map(repr, values))}]")
        lines.append(f"{plural(name)}: Final[tuple[{kind}, ...]] = {py_tuple(values)}\n")
    optimizers = ", ".join(
        f"{k!r}: {{{', '.join(f'{p!r}: {v!r}' for p, v in params.items())}}}"
        for k, params in contract["optimizers"].items()
    )
    lines += [
        f"OPTIMIZERS: Final[dict[OptimizerKind, dict[str, float]]] = {{{optimizers}}}\n",
        f"MetricName = Literal[{', '.join(map(repr, metrics['names']))}]",
        f"METRIC_NAMES: Final[tuple[MetricName, ...]] = {py_tuple(metrics['names'])}",
        f"N_SCORES: Final = {len(metrics['names']) - metrics['own']}",
        f"AUC_BINS: Final = {metrics['auc_bins']}\n",
        f"N_LAGS: Final = {features['lags']}",
        f"EMA_SPANS: Final = {py_tuple(features['ema_spans'])}",
        f"REST_FEATURES: Final = {py_tuple(features['rest'])}",
        f"CALENDAR_FEATURES: Final = {py_tuple(features['calendar'])}\n",
        f"ENTRIES_FIELD: Final = {message['entries']!r}",
        f"SHARED_FIELDS: Final = {py_tuple(message['shared'])}",
        f"PER_MODEL_FIELDS: Final = {py_tuple(message['per_model'])}",
    ]
    lines.append(metric_row(metrics))
    return formatted("\n".join(lines) + "\n")


def metric_row(metrics: dict[str, Any]) -> str:
    """The model_metrics row: its keys, then every metric of the contract."""
    fields = [f"    {name}: {kind}" for name, kind in metrics["row_keys"].items()]
    counts = metrics["counts"]
    fields += [f"    {n}: {'int' if n in counts else 'float'}" for n in metrics["names"]]
    doc = (
        '    """A snapshot of one forecaster\'s prequential scores at event time ``ts``, over the\n'
        "    rolling window or since the start (``window``); ``based_on``: the model the\n"
        '    forecaster is (for the served forecast, the model it was selected from)."""\n'
    )
    return "\n\n@dataclass(slots=True)\nclass MetricRow:\n" + doc + "\n" + "\n".join(fields) + "\n"


def formatted(source: str) -> str:
    """Python source as ``ruff format`` writes it (the lint checks the generated file too)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(PYTHON), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def generated() -> dict[Path, str]:
    """Each generated file's text, from the contract as it is now."""
    text = CONTRACT.read_bytes()
    contract = tomllib.loads(text.decode())
    digest = hashlib.sha256(text).hexdigest()[:16]
    return {RUST: rust(contract, digest), PYTHON: python(contract, digest)}


def main(argv: list[str]) -> int:
    stale = [
        path for path, text in generated().items() if not path.exists() or path.read_text() != text
    ]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run make contract", file=sys.stderr)
        return 1 if stale else 0
    for path, text in generated().items():
        path.write_text(text)
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in generated())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
