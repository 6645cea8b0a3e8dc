"""``DataParallelExecutorGroup``: one executor per device, each bound for its slice of the batch.

``Module`` keeps one of these as ``_exec_group``. The batch is cut along each input's batch axis
(the ``N`` of its layout) by ``_split_input_slice``, every device runs its own executor, and
outputs are concatenated back. Arrays are kept in MXNet's nesting, which code written for
MXNet reaches into: ``param_arrays[i][k]`` is parameter ``i`` on device ``k``, and
``data_arrays[j]`` lists ``(slice, array)`` per device for input ``j``.
"""

import logging
from collections import OrderedDict

import numpy as np

from .. import ndarray as nd
from ..context import cpu
from ..io import DataDesc

__all__ = ["DataParallelExecutorGroup"]

# MXNet's dtype codes, as a variable's ``__dtype__`` attribute holds them.
_DTYPE_MX_TO_NP = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8, 6: np.int64,
                   7: np.bool_}


def _split_input_slice(batch_size, work_load_list):
    """Slices of ``range(batch_size)``, one per device, sized by ``work_load_list`` (each share
    rounded, the remainder going to the last device; MXNet's rule)."""
    total = sum(work_load_list)
    counts = [round(w * batch_size / total) for w in work_load_list]
    if sum(counts) < batch_size:
        counts[-1] += batch_size - sum(counts)
    slices, end = [], 0
    for count in counts:
        begin = int(min(end, batch_size))
        end = int(min(begin + count, batch_size))
        if begin >= end:
            raise ValueError("Too many slices. Some splits are empty.")
        slices.append(slice(begin, end))
    return slices


def _as_desc(d):
    if isinstance(d, DataDesc):
        return d
    if hasattr(d, "name") and hasattr(d, "shape"):
        return DataDesc(d.name, tuple(d.shape), getattr(d, "dtype", np.float32), getattr(d, "layout", "NCHW"))
    return DataDesc(d[0], tuple(d[1]))


def _copy_into(src, dst):
    if isinstance(src, nd.NDArray):
        src.copyto(dst)
    else:
        dst[:] = src


def _load_general(data, targets, major_axis):
    """Copies each source array into its per-device targets, cutting along its batch axis."""
    for src, dsts, axis in zip(data, targets, major_axis):
        if isinstance(dsts, nd.NDArray):
            _copy_into(src, dsts)
        elif isinstance(src, (list, tuple)):
            for s, d in zip(src, dsts):
                _copy_into(s, d)
        elif len(dsts) == 1 or axis < 0:
            for _, dst in dsts:
                _copy_into(src, dst)
        else:
            for sl, dst in dsts:
                if axis == 0:
                    part = src[sl.start:sl.stop]
                else:
                    part = nd.slice_axis(src if isinstance(src, nd.NDArray) else nd.array(src), axis=axis,
                                         begin=sl.start, end=sl.stop)
                _copy_into(part, dst)


def _merge_multi_context(outputs, major_axis):
    """One array per output: the devices' pieces concatenated along the batch axis."""
    merged = []
    for pieces, axis in zip(outputs, major_axis):
        if axis >= 0 and len(pieces) > 1:
            ctx = pieces[0].context
            merged.append(nd.concat(*[p.as_in_context(ctx) for p in pieces], dim=axis))
        else:
            merged.append(pieces[0])
    return merged


def _grad_reqs(grad_req, arg_names, param_names, fixed, data_names, for_training, inputs_need_grad):
    """Each argument's gradient request (MXNet's rule: parameters and, when asked, data)."""
    if not for_training:
        grad_req = "null"
    if isinstance(grad_req, (list, tuple)):
        assert len(grad_req) == len(arg_names)
        return dict(zip(arg_names, grad_req))
    default = grad_req if isinstance(grad_req, str) else "write"
    reqs = {}
    for name in arg_names:
        if name in param_names:
            reqs[name] = "null" if name in fixed else default
        elif name in data_names:
            reqs[name] = default if inputs_need_grad else "null"
        else:
            reqs[name] = "null"
    if isinstance(grad_req, dict):
        reqs.update(grad_req)
    elif not isinstance(grad_req, str):
        raise ValueError("grad_req must be one of str, list, tuple, or dict.")
    return reqs


class DataParallelExecutorGroup:
    """Executors for ``symbol`` on ``contexts``, each bound for its share of the batch
    (``workload``). ``shared_group`` (bucketing) makes the new executors use that group's
    parameter and gradient arrays. ``grad_req`` is a str, a list in ``list_arguments`` order or
    a dict; parameters in ``fixed_param_names`` take no gradient.

    >>> import rmx as mx
    >>> from rmx.module.executor_group import DataParallelExecutorGroup
    >>> net = mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=2, name='fc')
    >>> group = DataParallelExecutorGroup(net, [mx.cpu(0), mx.cpu(1)], [1, 1], [('data', (6, 3))], None,
    ...                                   ['fc_weight', 'fc_bias'], for_training=True, inputs_need_grad=False)
    >>> group.slices, group.batch_size
    ([slice(0, 3, None), slice(3, 6, None)], 6)
    >>> [e.arg_dict['data'].shape for e in group.execs]
    [(3, 3), (3, 3)]
    >>> group.get_output_shapes()
    [('fc_output', (6, 2))]
    """

    def __init__(self, symbol, contexts, workload, data_shapes, label_shapes, param_names, for_training,
                 inputs_need_grad, shared_group=None, logger=logging, fixed_param_names=None, grad_req="write",
                 state_names=None, group2ctxs=None):
        self.symbol = symbol
        self.contexts = list(contexts)
        self.workload = list(workload) if workload is not None else [1] * len(self.contexts)
        self.group2ctxs = group2ctxs
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        self._total_exec_bytes = 0
        data_shapes = [_as_desc(d) for d in data_shapes]
        self.grad_req = _grad_reqs(grad_req, self.arg_names, self.param_names, self.fixed_param_names,
                                   [d.name for d in data_shapes], for_training, inputs_need_grad)
        self.shared_data_arrays = shared_group.shared_data_arrays if shared_group is not None else [{} for _ in self.contexts]
        self.batch_size = None
        self.slices = None
        self.execs = []
        self._default_execs = None
        self.data_arrays = self.label_arrays = self.param_arrays = self.state_arrays = None
        self.grad_arrays = self.aux_arrays = self.input_grad_arrays = None
        self.data_shapes = self.label_shapes = self.data_names = self.label_names = None
        self.data_layouts = self.label_layouts = None
        self.output_names = symbol.list_outputs()
        self.num_outputs = len(self.output_names)
        self.output_layouts = [DataDesc.get_batch_axis(symbol[i].attr("__layout__")) for i in range(self.num_outputs)]
        self.bind_exec(data_shapes, label_shapes, shared_group)

    # --- binding --------------------------------------------------------------------------
    def decide_slices(self, data_shapes):
        """Each input's batch axis; sets ``batch_size`` and ``slices`` from the first one."""
        assert len(data_shapes) > 0
        major_axis = [DataDesc.get_batch_axis(getattr(d, "layout", None)) for d in data_shapes]
        for (name, shape), axis in zip(data_shapes, major_axis):
            if axis == -1:
                continue
            if self.batch_size is not None:
                assert shape[axis] == self.batch_size, (f"all data must have the same batch size: batch_size = "
                                                        f"{self.batch_size}, but {name} has shape {shape}")
            else:
                self.batch_size = shape[axis]
                self.slices = _split_input_slice(self.batch_size, self.workload)
        return major_axis

    def _sliced_shape(self, shapes, i, major_axis):
        out = []
        for desc, axis in zip(shapes, major_axis):
            shape = list(desc.shape)
            if axis >= 0:
                shape[axis] = self.slices[i].stop - self.slices[i].start
            out.append(DataDesc(desc.name, tuple(shape), desc.dtype, desc.layout))
        return out

    def bind_exec(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        """Binds (or, with ``reshape``, re-shapes) one executor per device."""
        assert reshape or not self.execs
        data_shapes = [_as_desc(d) for d in data_shapes]
        label_shapes = [_as_desc(d) for d in label_shapes] if label_shapes is not None else None
        self.batch_size = None
        self.data_layouts = self.decide_slices(data_shapes)
        if label_shapes is not None:
            self.label_layouts = self.decide_slices(label_shapes)
        for i in range(len(self.contexts)):
            shapes_i = self._sliced_shape(data_shapes, i, self.data_layouts)
            if label_shapes is not None:
                shapes_i += self._sliced_shape(label_shapes, i, self.label_layouts)
            if reshape:
                # partial_shaping: a label left out (a batch without labels) follows the data.
                self.execs[i] = self._default_execs[i].reshape(partial_shaping=True, allow_up_sizing=True,
                                                               **{d.name: d.shape for d in shapes_i})
            else:
                self.execs.append(self._bind_ith_exec(i, shapes_i, shared_group))
        self.data_shapes = data_shapes
        self.label_shapes = label_shapes
        self.data_names = [d.name for d in data_shapes]
        if label_shapes is not None:
            self.label_names = [d.name for d in label_shapes]
        self._collect_arrays()

    def _bind_ith_exec(self, i, shapes, shared_group):
        shared_exec = None if shared_group is None else shared_group.execs[i]
        types = {d.name: d.dtype for d in shapes}
        attrs = self.symbol.attr_dict()
        for name in self.symbol.list_inputs():
            dtype = attrs.get(name, {}).get("__dtype__")
            if name in types and dtype not in (None, "-1"):
                types[name] = _DTYPE_MX_TO_NP.get(int(dtype), types[name])
        ex = self.symbol.simple_bind(ctx=self.contexts[i], grad_req=self.grad_req, type_dict=types,
                                     shared_arg_names=self.param_names, shared_exec=shared_exec,
                                     **{d.name: d.shape for d in shapes})
        self._total_exec_bytes += int(ex.handle.internal_bytes()) if hasattr(ex.handle, "internal_bytes") else 0
        return ex

    def _collect_arrays(self):
        """MXNet's nested views of the executors' arrays (rebuilt at every bind and reshape)."""
        execs = self.execs
        index = {n: i for i, n in enumerate(self.arg_names)}
        self.data_arrays = [[(self.slices[k], e.arg_arrays[index[d.name]]) for k, e in enumerate(execs)]
                            for d in self.data_shapes]
        self.state_arrays = [[e.arg_arrays[index[n]] for e in execs] for n in self.state_names]
        if self.label_shapes is not None:
            self.label_arrays = [[(self.slices[k], e.arg_arrays[index[d.name]]) for k, e in enumerate(execs)]
                                 for d in self.label_shapes]
        else:
            self.label_arrays = None
        params = [index[n] for n in self.arg_names if n in self.param_names]
        self.param_arrays = [[e.arg_arrays[i] for e in execs] for i in params]
        self.grad_arrays = [[e.grad_arrays[i] for e in execs] for i in params] if self.for_training else None
        if self.inputs_need_grad:
            self.input_grad_arrays = [[e.grad_arrays[index[n]] for e in execs] for n in self.data_names if n in index]
        else:
            self.input_grad_arrays = None
        self.aux_arrays = [[e.aux_arrays[i] for e in execs] for i in range(len(self.aux_names))]

    def reshape(self, data_shapes, label_shapes):
        """New input shapes; parameters stay where they are (the first executors are kept and
        every later shape is derived from them, as MXNet does)."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        if self._default_execs is None:
            self._default_execs = list(self.execs)
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    # --- parameters -----------------------------------------------------------------------
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copies the given parameters into every executor."""
        for ex in self.execs:
            ex.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params, aux_params):
        """Copies the devices' parameters (averaged over devices) into the given arrays."""
        for names, blocks, target in ((self.param_names, self.param_arrays, arg_params),
                                      (self.aux_names, self.aux_arrays, aux_params)):
            for name, block in zip(names, blocks):
                if len(block) == 1:
                    value = block[0]
                else:
                    value = block[0].as_in_context(cpu())
                    for w in block[1:]:
                        value = value + w.as_in_context(cpu())
                    value = value / len(block)
                dst = target[name]
                (value if value.dtype == dst.dtype else value.astype(dst.dtype)).copyto(dst)

    # --- computation ----------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Loads each device's slice of ``data_batch`` (a DataBatch, or a list of them, one per
        device) and runs every executor forward."""
        batches = data_batch if isinstance(data_batch, list) else None
        if batches is not None:
            _load_general([[b.data[i] for b in batches] for i in range(len(self.data_arrays))],
                          [[d for _, d in t] for t in self.data_arrays], self.data_layouts)
        else:
            _load_general(data_batch.data, self.data_arrays, self.data_layouts)
        if is_train is None:
            is_train = self.for_training
        if self.label_arrays is not None:
            if batches is not None and batches[0].label:
                _load_general([[b.label[i] for b in batches] for i in range(len(self.label_arrays))],
                              [[d for _, d in t] for t in self.label_arrays], self.label_layouts)
            elif batches is None and data_batch.label:
                _load_general(data_batch.label, self.label_arrays, self.label_layouts)
        for ex in self.execs:
            ex.forward(is_train=is_train)

    def backward(self, out_grads=None):
        """Runs every executor backward, each with its slice of ``out_grads``."""
        assert self.for_training, "re-bind with for_training=True to run backward"
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, nd.NDArray):
            out_grads = [out_grads]
        single = len(self.execs) == 1
        for k, (ex, sl) in enumerate(zip(self.execs, self.slices)):
            grads = []
            for grad, axis in zip(out_grads, self.output_layouts):
                if single:
                    grads.append(grad)
                elif axis >= 0:
                    grads.append(nd.slice_axis(grad, axis=axis, begin=sl.start, end=sl.stop).as_in_context(self.contexts[k]))
                else:
                    grads.append(grad.copyto(self.contexts[k]))
            ex.backward(out_grads=grads)

    def get_output_shapes(self):
        shapes = []
        for name, out, axis in zip(self.output_names, self.execs[0].outputs, self.output_layouts):
            shape = list(out.shape)
            if axis >= 0:
                shape[axis] = self.batch_size
            shapes.append((name, tuple(shape)))
        return shapes

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        """Outputs ``[begin, end)``: merged across devices, or ``[[out_dev1, out_dev2], ...]``."""
        end = self.num_outputs if end is None else end
        outputs = [[ex.outputs[i] for ex in self.execs] for i in range(begin, end)]
        if merge_multi_context:
            return _merge_multi_context(outputs, self.output_layouts[begin:end])
        return outputs

    def get_states(self, merge_multi_context=True):
        assert not merge_multi_context, "merge_multi_context=True is not supported for get_states yet."
        return self.state_arrays

    def set_states(self, states=None, value=None):
        """Copies ``states`` (``[[state1_dev1, state1_dev2], ...]``) in, or fills with ``value``."""
        if states is not None:
            assert value is None, "Only one of states & value can be specified."
            _load_general(states, self.state_arrays, (0,) * len(states))
        else:
            assert value is not None, "At least one of states & value must be specified."
            for dsts in self.state_arrays:
                for dst in dsts:
                    dst[:] = value

    def get_input_grads(self, merge_multi_context=True):
        assert self.inputs_need_grad
        if merge_multi_context:
            return _merge_multi_context(self.input_grad_arrays, self.data_layouts)
        return self.input_grad_arrays

    def update_metric(self, eval_metric, labels, pre_sliced):
        """Updates ``eval_metric`` with each device's outputs against its slice of ``labels``."""
        layouts = self.label_layouts or [0] * len(labels)
        single = len(self.execs) == 1
        for k, (ex, sl) in enumerate(zip(self.execs, self.slices)):
            if pre_sliced:
                labels_k = labels[k]
            elif single:
                labels_k = labels
            else:
                labels_k = []
                for label, axis in zip(labels, layouts):
                    if axis == 0:
                        labels_k.append(label[sl])
                    elif axis > 0:
                        labels_k.append(nd.slice_axis(label, axis=axis, begin=sl.start, end=sl.stop))
                    else:
                        labels_k.append(label)
            if self.label_names and len(self.label_names) == len(labels_k):
                eval_metric.update_dict(OrderedDict(zip(self.label_names, labels_k)),
                                        OrderedDict(zip(self.output_names, ex.outputs)))
            else:
                eval_metric.update(labels_k, ex.outputs)

    def install_monitor(self, mon):
        for ex in self.execs:
            mon.install(ex)
