"""Start-up (issue 14): the net built-ins, the layer modules, the runtime, the training loop
and the net files are imported on first use, not by ``import netdsl``.

Each check runs in a fresh interpreter, since this test process has imported everything.
The lazy table (``builtins/lazy_table.py``) must name exactly what its modules register,
and everything must still work and be listed when its module has not been loaded yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# modules that ``import netdsl`` and ``netdsl -c 1`` must not execute (heavy or unneeded)
HEAVY = ("netdsl.builtins.nets", "netdsl.builtins.netops", "netdsl.builtins.netfiles",
         "netdsl.builtins.coders", "netdsl.builtins.pictures", "netdsl.builtins.onnxfiles",
         "netdsl.layers.conv", "netdsl.layers.lstm", "netdsl.layers.linear",
         "netdsl.graph", "netdsl.runtime.apply", "netdsl.runtime.train.loop",
         "netdsl.runtime.train.measure", "netdsl.formats.netfile", "zipfile", "csv")


def run(code: str, cwd: str | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_netdsl_does_not_import_the_heavy_modules():
    loaded = json.loads(run(f"""
        import json, sys, netdsl
        netdsl.evaluate("Total[Range[10]] + StringLength[\\"abc\\"]")
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """))
    assert loaded == []


def test_building_a_net_imports_them():
    loaded = json.loads(run(f"""
        import json, sys, netdsl
        netdsl.evaluate('NetChain[{{LinearLayer[2]}}, "Input" -> 3]')
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """))
    assert "netdsl.builtins.nets" in loaded and "netdsl.layers.linear" in loaded
    assert "netdsl.layers.conv" not in loaded and "netdsl.layers.lstm" not in loaded


def test_the_lazy_table_names_exactly_what_its_modules_register():
    got = json.loads(run("""
        import json, netdsl
        from netdsl.builtins.lazy_table import LAZY_BUILTINS
        from netdsl.builtins.registry import REGISTRY, Builtin, LazyBuiltin, load_lazy
        from netdsl.layers.registry import LAYER_TYPES
        names_before = sorted(REGISTRY)
        stubs = sorted(n for n, b in REGISTRY.items() if isinstance(b, LazyBuiltin))
        load_lazy()
        layers = sorted(LAYER_TYPES)
        registered = {m: sorted(n for n, b in REGISTRY.items()
                                if b.fn.__module__ == "netdsl.builtins." + m)
                      for m in LAZY_BUILTINS}
        print(json.dumps({
            "table": {m: sorted(v) for m, v in LAZY_BUILTINS.items()},
            "registered": registered, "stubs": stubs, "before": names_before,
            "after": sorted(REGISTRY), "layers": layers,
            "left": [n for n, b in REGISTRY.items() if not isinstance(b, Builtin)]}))
    """))
    assert got["table"] == got["registered"], \
        "builtins/lazy_table.py is stale: run python -m netdsl.reference --write README.md"
    assert got["before"] == got["after"]     # every name is known before its module loads
    assert got["left"] == []                 # and every stand-in was replaced
    assert set(got["layers"]) <= set(got["after"])
    assert set(got["stubs"]) == {n for v in got["table"].values() for n in v}


def test_names_help_and_the_reference_see_every_built_in_without_loading_first():
    got = json.loads(run("""
        import json, sys, netdsl
        from netdsl.help import completions, long_help, matching
        from netdsl.reference import markdown
        names = len(matching("*Layer"))
        completed = [c for c, _ in completions("NetTr")]
        text = long_help("ConvolutionLayer") or ""
        ref = markdown()
        print(json.dumps([names, "NetTrain" in completed, "Kernel" in text or "kernel" in text,
                          "**NetTrain**" in ref, "**ConvolutionLayer**" in ref]))
    """))
    names, completed, help_ok, train_listed, conv_listed = got
    assert names >= 35 and completed
    assert help_ok and train_listed and conv_listed


def test_a_layer_registered_before_the_net_built_ins_load_gets_its_head():
    out = run("""
        import sys, netdsl
        from netdsl.layers import Infer, Layer
        class TwiceLayer(Layer):
            name = "TwiceLayer"
            summary = "twice its input"
            def infer(self, s: Infer) -> None:
                s.same("Input", "Output")
            def forward(self, ctx, arrays, x):
                return [2 * x], None
        netdsl.register_layer(TwiceLayer)
        before = "netdsl.builtins.nets" in sys.modules
        print(before, netdsl.evaluate('TwiceLayer["Input" -> 2][{1., 3.}]').tolist())
    """)
    assert out.split("\n")[-1] == "False [2.0, 6.0]"


def test_part_of_a_net_and_file_formats_work_before_their_modules_load(tmp_path):
    out = run("""
        import sys, netdsl
        session = netdsl.Session()
        session.evaluate('n = NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]')
        print("netdsl.builtins.netops" in sys.modules, "netdsl.builtins.netfiles" in sys.modules)
        session.evaluate('Export["n.safetensors", NetInitialize[n, RandomSeeding -> 1]]')
        print(session.evaluate('Dimensions[Import["n.safetensors", "ArrayAssociation"]'
                               '["1/Weights"]]').tolist())
        print("netdsl.builtins.netops" in sys.modules)
        print(session.evaluate('Head[n[[2]]]'))
    """, cwd=str(tmp_path))
    assert out.split("\n") == ["False False", "[3, 2]", "True", "ElementwiseLayer"]


def test_a_net_read_from_python_runs_without_the_net_built_ins(tmp_path):
    run("""
        import netdsl
        netdsl.save(netdsl.evaluate('NetInitialize[LinearLayer[2, "Input" -> 3], '
                                    'RandomSeeding -> 1]'), "n.safetensors")
    """, cwd=str(tmp_path))
    out = run("""
        import sys, numpy as np, netdsl
        net = netdsl.load("n.safetensors")
        before = "netdsl.builtins.nets" in sys.modules
        w, b = net.arrays["Weights"], net.arrays["Biases"]
        x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
        print(before, np.allclose(net(x), w @ x + b, atol=1e-6))
    """, cwd=str(tmp_path))
    assert out == "False True"
