"""``mx.viz``: ``print_summary`` (the layer table MXNet prints: layer, output shape, parameter
count, previous layer) and ``plot_network`` (a ``graphviz.Digraph`` of the graph)."""

import json
import warnings

import numpy as np

__all__ = ["print_summary", "plot_network"]

# Inputs that are parameters rather than data, hidden by plot_network(hide_weights=True).
_WEIGHT_SUFFIXES = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean", "_running_var", "_running_mean")


def _tuple(text):
    return tuple(int(x) for x in text.strip("()[] ").split(",") if x.strip())


def _shape_dict(symbol, shape):
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**shape)
    if out_shapes is None:
        raise ValueError("Input shape is incomplete")
    return dict(zip(internals.list_outputs(), out_shapes))


def _layer_params(node, pre_filter, shape_dict):
    """The parameter count print_summary shows for a layer (MXNet's rule, per operator)."""
    op, attrs = node["op"], node.get("attrs", {})
    if op in ("Convolution", "Deconvolution"):
        groups = int(attrs.get("num_group", "1"))
        count = pre_filter * int(attrs["num_filter"]) // groups
        for k in _tuple(attrs["kernel"]):
            count *= k
        no_bias = attrs.get("no_bias", "True" if op == "Deconvolution" else "False") == "True"
        return count if no_bias else count + int(attrs["num_filter"])
    if op == "FullyConnected":
        hidden = int(attrs["num_hidden"])
        return pre_filter * hidden if attrs.get("no_bias") == "True" else (pre_filter + 1) * hidden
    if op == "BatchNorm":
        key = node["name"] + "_output"
        return int(shape_dict[key][1]) * 2 if key in shape_dict else 0
    if op == "Embedding":
        return int(attrs["input_dim"]) * int(attrs["output_dim"])
    return 0


def _output_bytes(symbol, shape):
    """Bytes of each internal output (batch axis included) for ``show_memory``."""
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**shape)
    _, out_types, _ = internals.infer_type_partial()
    sizes = {}
    for name, s, t in zip(internals.list_outputs(), out_shapes, out_types):
        sizes[name] = int(np.prod(s)) * np.dtype(t or np.float32).itemsize
    return sizes


def _mb(n):
    return f"{n / 2**20:.2f} MB"


def print_summary(symbol, shape=None, line_length=120, positions=(0.44, 0.64, 0.74, 1.0), show_memory=False,
                  memory_strategy=None):
    """Prints each layer's type, output shape (without the batch axis), parameter count and
    inputs, then the total parameter count. ``shape`` maps input names to shapes.

    ``show_memory=True`` (needs ``shape``) adds each layer's output memory and ends with what
    the memory planner allocates for prediction and for training under ``memory_strategy``
    (default ``RMX_MEMORY_STRATEGY``, else ``both``) beside one buffer per entry (``none``),
    all planned without allocating (``Symbol.plan_memory``)."""
    show_shape = shape is not None
    if show_memory and not show_shape:
        raise ValueError("print_summary: show_memory=True needs the input shapes (shape=...)")
    shape_dict = _shape_dict(symbol, shape) if show_shape else {}
    out_bytes = _output_bytes(symbol, shape) if show_memory else {}
    if show_memory and len(positions) == 4:
        positions = (0.36, 0.54, 0.64, 0.76, 1.0)
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    heads = set(conf["heads"][0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def row(fields):
        line = ""
        for i, field in enumerate(fields):
            line += str(field)
            line = line[: positions[i]]
            line += " " * (positions[i] - len(line))
        print(line)

    print("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #"] + (["Output Memory"] if show_memory else []) + ["Previous Layer"])
    print("=" * line_length)
    total = 0
    for i, node in enumerate(nodes):
        op = node["op"]
        if op == "null" and i > 0:
            continue
        out_shape = []
        if show_shape and (op != "null" or i in heads):
            key = node["name"] + "_output" if op != "null" else node["name"]
            out_shape = shape_dict.get(key, ())[1:]
        pre_nodes, pre_filter = [], 0
        if op != "null":
            for src, _, _ in node["inputs"]:
                inp = nodes[src]
                if inp["op"] != "null" or src in heads:
                    pre_nodes.append(inp["name"])
                    if show_shape:
                        key = inp["name"] + "_output" if inp["op"] != "null" else inp["name"]
                        if key in shape_dict:
                            pre_filter += int(shape_dict[key][1])
        params = _layer_params(node, pre_filter, shape_dict)
        memory = []
        if show_memory:
            key = node["name"] + "_output" if op != "null" else node["name"]
            memory = [_mb(sum(v for k, v in out_bytes.items() if k == key or k.startswith(node["name"] + "_output")))]
        row([f"{node['name']}({op})", "x".join(str(x) for x in out_shape), params] + memory + [pre_nodes[0] if pre_nodes else ""])
        for extra in pre_nodes[1:]:
            row(["", "", ""] + ([""] if show_memory else []) + [extra])
        total += params
        print("=" * line_length if i == len(nodes) - 1 else "_" * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)
    if show_memory:
        for mode, req in (("prediction", "null"), ("training", "write")):
            plan = symbol.plan_memory(strategy=memory_strategy, grad_req=req, **shape)
            print(f"Internal memory, {mode} (strategy {plan['strategy']}): {_mb(plan['internal_bytes'])} "
                  f"in {plan['num_buffers']} buffers (one buffer per entry: {_mb(plan['unshared_bytes'])})")
        print("_" * line_length)


# Fill colours by operator kind (MXNet's palette).
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")


def _label_and_color(node):
    op, name, attrs = node["op"], node["name"], node.get("attrs", {})
    if op == "null":
        return name, _COLORS[0]
    if op == "Convolution":
        stride = "x".join(str(s) for s in _tuple(attrs.get("stride", "(1,)"))) or "1"
        return f"Convolution\n{'x'.join(str(k) for k in _tuple(attrs['kernel']))}/{stride}, {attrs['num_filter']}", _COLORS[1]
    if op == "FullyConnected":
        return f"FullyConnected\n{attrs['num_hidden']}", _COLORS[1]
    if op == "BatchNorm":
        return "BatchNorm", _COLORS[3]
    if op in ("Activation", "LeakyReLU"):
        return f"{op}\n{attrs.get('act_type', 'leaky')}", _COLORS[2]
    if op == "Pooling":
        stride = "x".join(str(s) for s in _tuple(attrs.get("stride", "(1,)"))) or "1"
        kernel = "x".join(str(k) for k in _tuple(attrs.get("kernel", "()")))
        return f"Pooling\n{attrs.get('pool_type', 'max')}, {kernel}/{stride}", _COLORS[4]
    if op in ("Concat", "Flatten", "Reshape"):
        return op, _COLORS[5]
    if op == "Softmax" or op.endswith("Output"):
        return op, _COLORS[6]
    return op, _COLORS[7]


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None, node_attrs=None, hide_weights=True):
    """A ``graphviz.Digraph`` of the network (render it with ``.render()`` or view it in a
    notebook). ``shape`` labels edges with tensor shapes; ``hide_weights`` omits parameter and
    label variables."""
    try:
        from graphviz import Digraph
    except ImportError as e:
        raise ImportError("Draw network requires graphviz library") from e
    shape_dict = _shape_dict(symbol, shape) if shape is not None else {}
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    names = [n["name"] for n in nodes if n["op"] == "null"]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        warnings.warn("There are multiple variables with the same name in your graph, this may result in cyclic graph. Repeated names: " + ",".join(repeated))
    style = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034", "style": "filled"}
    style.update(node_attrs or {})
    dot = Digraph(name=title, format=save_format)
    hidden = set()
    for i, node in enumerate(nodes):
        if node["op"] == "null" and hide_weights and (node["name"].endswith(_WEIGHT_SUFFIXES) or node["name"].endswith("_label")):
            hidden.add(i)
            continue
        label, color = _label_and_color(node)
        attrs = dict(style, fillcolor=color)
        if node["op"] == "null":
            attrs["shape"] = "oval"
        dot.node(name=str(i), label=label, **attrs)
    for i, node in enumerate(nodes):
        if node["op"] == "null" or i in hidden:
            continue
        for src, index, _ in node["inputs"]:
            if src in hidden:
                continue
            edge = {"dir": "back", "arrowtail": "open"}
            if shape_dict:
                inp = nodes[src]
                key = inp["name"] if inp["op"] == "null" else f"{inp['name']}_output" + (str(index) if f"{inp['name']}_output" not in shape_dict else "")
                if key in shape_dict:
                    edge["label"] = "x".join(str(d) for d in shape_dict[key][1:])
            dot.edge(tail_name=str(i), head_name=str(src), **edge)
    return dot
