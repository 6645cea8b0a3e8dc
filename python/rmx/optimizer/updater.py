"""``Updater``: what kvstores and ``Module`` call with ``(index, grad, weight)``; it keeps each
parameter's optimizer state, creates it on first use, and pickles it."""

import pickle

from ..base import py_str
from ..ndarray import NDArray


class Updater(object):
    """Applies an optimizer to ``(index, grad, weight)`` calls, as kvstores and ``Module`` call
    it, creating each index's state on first use.

    Lists of indices are updated together (grouped by dtype, ``optimizer.aggregate_num`` at a
    time) when the optimizer aggregates; the update counts are those of the device the first
    weight lives on. ``get_states``/``set_states`` pickle the states (and, optionally, the
    optimizer); states loaded are moved to their weight's device on next use.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        if not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), grad, weight
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):  # string keys arrive from a kvstore as bytes
                idx = indices[i] = py_str(idx)
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        if self.aggregate_updates:
            by_dtype = {}
            for i, w, g in zip(indices, weights, grads):
                by_dtype.setdefault(w.handle.dtype, []).append((i, w, g))
            size = self.optimizer.aggregate_num
            for group in by_dtype.values():
                idxs, ws, gs = zip(*group)
                for start in range(0, len(idxs), size):
                    part = idxs[start:start + size]
                    self.optimizer.update_multi_precision(
                        part, ws[start:start + size], gs[start:start + size],
                        [self.states[i] for i in part])
        else:
            for i, w, g in zip(indices, weights, grads):
                self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state, context):
        """``state`` (an NDArray, or nested tuples/lists of them) on ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """Loads what ``get_states`` wrote (states, or states and the optimizer)."""
        states = pickle.loads(states)
        if isinstance(states, tuple) and len(states) == 2:
            self.states, self.optimizer = states
            # MXNet keeps the old flag, and loops forever when the new optimizer does not
            # aggregate; it follows the optimizer loaded here.
            self.aggregate_updates = self.optimizer.aggregate_num > 0
        else:
            self.states = states
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """The pickled states; with ``dump_optimizer`` the pair (states, optimizer)."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """An ``Updater`` of ``optimizer``."""
    return Updater(optimizer)
