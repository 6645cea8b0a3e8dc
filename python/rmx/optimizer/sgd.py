"""Gradient descent and its variants: SGD (and the deprecated ccSGD), Nesterov's NAG, Signum
and signSGD, SGLD (Langevin dynamics) and DCASGD (delay-compensated asynchronous SGD)."""

import math
import os
import warnings

import numpy

from .. import ndarray as nd
from ..ndarray import NDArray, zeros
from .optimizer import Optimizer, register


def _fused_kwargs(opt, **extra):
    """``rescale_grad`` and ``clip_gradient`` (only when truthy), as MXNet passes them."""
    kwargs = {"rescale_grad": opt.rescale_grad}
    kwargs.update(extra)
    if opt.clip_gradient:
        kwargs["clip_gradient"] = opt.clip_gradient
    return kwargs


class _MomentumState:
    """The states of SGD and NAG: a momentum buffer (none without momentum) and, for float16
    weights under ``multi_precision``, a float32 master copy, as ``(momentum, weight32)``."""

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            return (self.create_state(index, master), master)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                          "slow convergence. Consider using multi_precision=True option of the "
                          f"{type(self).__name__} optimizer")
        return self.create_state(index, weight)

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight.dtype)
        return None


@register
class SGD(_MomentumState, Optimizer):
    """Stochastic gradient descent with momentum and weight decay::

        state = momentum * state - lr * (wd * weight + clip(rescale_grad * grad))
        weight = weight + state

    (``weight = (1 - lr*wd) * weight - lr * clip(...)`` without momentum). With
    ``multi_precision`` float16 weights are updated through a float32 master copy (``mp_sgd_*``).
    Calls with lists of indices update several weights at once, as MXNet's aggregated updates.
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super(SGD, self).__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "4"))

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        if not isinstance(indices, (tuple, list)):
            indices, weights, grads, states = [indices], [weights], [grads], [states]
        for weight, grad in zip(weights, grads):
            assert isinstance(weight, NDArray)
            assert isinstance(grad, NDArray)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        kwargs = _fused_kwargs(self)
        if self.momentum > 0:
            kwargs["momentum"] = self.momentum
        # Dense weights: MXNet's aggregated multi_[mp_]sgd[_mom]_update, every weight of the
        # call in one operator (one engine push). With momentum it is element for element
        # [mp_]sgd_mom_update; without, see the operator's documentation.
        n = len(weights)
        kwargs.update(lrs=tuple(lrs), wds=tuple(wds), num_weights=n)
        if not multi_precision:
            if self.momentum > 0:
                data = [a for w, g, m in zip(weights, grads, states) for a in (w, g, m)]
                nd.multi_sgd_mom_update(*data, out=list(weights), **kwargs)
            else:
                data = [a for w, g in zip(weights, grads) for a in (w, g)]
                nd.multi_sgd_update(*data, out=list(weights), **kwargs)
        elif self.momentum > 0:
            data = [a for w, g, s in zip(weights, grads, states) for a in (w, g, s[0], s[1])]
            nd.multi_mp_sgd_mom_update(*data, out=list(weights), **kwargs)
        else:
            data = [a for w, g, s in zip(weights, grads, states) for a in (w, g, s[1])]
            nd.multi_mp_sgd_update(*data, out=list(weights), **kwargs)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        use_mp = self.multi_precision and first.dtype == numpy.float16
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


@register
class ccSGD(SGD):  # pylint: disable=invalid-name
    """[DEPRECATED] The same as ``SGD``."""

    def __init__(self, *args, **kwargs):
        super(ccSGD, self).__init__(*args, **kwargs)


@register
class NAG(_MomentumState, Optimizer):
    """Nesterov accelerated gradient (``nag_mom_update``; ``sgd_update`` without momentum;
    ``mp_*`` variants with ``multi_precision`` float16 weights)."""

    def __init__(self, momentum=0.0, **kwargs):
        super(NAG, self).__init__(**kwargs)
        self.momentum = momentum

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        assert isinstance(weight, NDArray)
        assert isinstance(grad, NDArray)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        kwargs = {"rescale_grad": self.rescale_grad}
        if self.momentum > 0:
            kwargs["momentum"] = self.momentum
        if self.clip_gradient:
            kwargs["clip_gradient"] = self.clip_gradient
        if not multi_precision:
            if state is not None:
                nd.nag_mom_update(weight, grad, state, out=weight, lr=lr, wd=wd, **kwargs)
            else:
                nd.sgd_update(weight, grad, out=weight, lr=lr, wd=wd, **kwargs)
        elif state[0] is not None:
            nd.mp_nag_mom_update(weight, grad, state[0], state[1], out=weight, lr=lr, wd=wd, **kwargs)
        else:
            nd.mp_sgd_update(weight, grad, state[1], out=weight, lr=lr, wd=wd, **kwargs)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        use_mp = (self.multi_precision and weight.dtype == numpy.float16
                  and isinstance(state, (tuple, list)))
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


@register
class Signum(Optimizer):
    """Signum (momentum ``> 0``, ``signum_update``) or signSGD (``signsgd_update``)::

        state = momentum * state + (1 - momentum) * (rescale_grad * clip(grad) + wd * weight)
        weight = (1 - lr * wd_lh) * weight - lr * sign(state)
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super(Signum, self).__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight.dtype)
        return None

    def _update_impl(self, index, weight, grad, state):
        assert isinstance(weight, NDArray)
        assert isinstance(grad, NDArray)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        kwargs = {"rescale_grad": self.rescale_grad}
        if self.momentum > 0:
            kwargs["momentum"] = self.momentum
        if self.clip_gradient:
            kwargs["clip_gradient"] = self.clip_gradient
        if self.wd_lh:
            kwargs["wd_lh"] = self.wd_lh
        if state is not None:
            nd.signum_update(weight, grad, state, out=weight, lr=lr, wd=wd, **kwargs)
        else:
            nd.signsgd_update(weight, grad, out=weight, lr=lr, wd=wd, **kwargs)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state)


@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics: a half gradient step plus N(0, lr) noise."""

    def __init__(self, **kwargs):
        super(SGLD, self).__init__(**kwargs)

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        assert isinstance(weight, NDArray)
        assert isinstance(grad, NDArray)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        weight[:] += - lr / 2 * (grad + wd * weight)
        weight[:] += nd.random.normal(0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype,
                                      ctx=weight.context)


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD (NDArray arithmetic).

    MXNet 1.9.1 tests its momentum NDArray for truth (``if mom:``), which fails for arrays of
    more than one element; this tests ``mom is not None``, the evident intent.
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super(DCASGD, self).__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = None if self.momentum == 0.0 else zeros(weight.shape, weight.context, dtype=weight.dtype)
        return (mom, weight.copy())

    def update(self, index, weight, grad, state):
        assert isinstance(weight, NDArray)
        assert isinstance(grad, NDArray)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        mom, previous_weight = state
        step = -lr * (grad + wd * weight + self.lamda * grad * grad * (weight - previous_weight))
        if mom is not None:
            mom[:] *= self.momentum
            mom[:] += step
        else:
            assert self.momentum == 0.0
            mom = step
        previous_weight[:] = weight
        weight[:] += mom
