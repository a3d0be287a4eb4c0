"""River's parts of a state as a pickle, read back only into an allowlist of globals.

A pickle names the globals it calls, and an unrestricted ``pickle.loads`` calls whatever it
names (``os.system`` among them). States are authenticated before they get here
(:mod:`tickcast.codecs`); this is the second lock: :func:`loads` resolves exactly the classes
(and the one static method) River's models and tickcast's wrappers of them are rebuilt from,
and refuses any other name before importing anything. ``tests/unit/test_pickles.py`` pickles
every River model tickcast offers, in every configuration that changes what a pickle holds, and
fails when River (pinned) starts naming something new.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

__all__ = ["ALLOWED", "dumps", "loads"]

PROTOCOL = 5
ALLOWED = frozenset(
    {
        ("tickcast.online_model.river_models", "RiverExternals"),
        ("tickcast.online_model.river_models", "RiverTree"),
        ("tickcast.online_model.river_models", "Snarimax"),
        # the Hoeffding tree: its nodes, splitters and their statistics
        ("river.tree.hoeffding_tree_regressor", "HoeffdingTreeRegressor"),
        ("river.tree.nodes.htr_nodes", "LeafAdaptive"),
        ("river.tree.nodes.branch", "NumericBinaryBranch"),
        ("river.tree.splitter.tebst_splitter", "TEBSTSplitter"),
        ("river.tree.splitter.ebst_splitter", "EBSTNode"),
        ("river.tree.splitter.ebst_splitter", "EBSTNode._update_estimator_univariate"),
        ("river.stats.mean", "Mean"),
        ("river.stats.var", "Var"),
        # the linear models of the tree's leaves and of SNARIMAX
        ("river.linear_model.lin_reg", "LinearRegression"),
        ("river.optim.sgd", "SGD"),
        ("river.optim.losses", "Squared"),
        ("river.optim.schedulers", "Constant"),
        ("river.optim.initializers", "Zeros"),
        ("river._river_rust.vectordict", "VectorDict"),
        ("river.compose.pipeline", "Pipeline"),
        ("river.preprocessing.scale", "StandardScaler"),
        ("river.time_series.snarimax", "SNARIMAX"),
        ("river.time_series.snarimax", "Differencer"),
        # ADWIN, the other concept-drift detector
        ("river.drift.adwin", "ADWIN"),
        ("river._river_rust.drift", "AdaptiveWindowing"),
        # containers
        ("builtins", "float"),
        ("collections", "Counter"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
    }
)
# Modules renamed since states were written: a state names its classes by their old module.
MOVED = {"tickcast.online_model.models": "tickcast.online_model.river_models"}


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=PROTOCOL)


def loads(data: bytes) -> Any:
    """The value pickled in ``data``; UnpicklingError when it names any other global."""
    return _Allowlisted(io.BytesIO(data)).load()


class _Allowlisted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        module = MOVED.get(module, module)
        if (module, name) not in ALLOWED:  # before anything is imported
            raise pickle.UnpicklingError(f"{module}.{name} may not be loaded from a state")
        return super().find_class(module, name)
