"""The reverse-mode engine: grad mode, the ``Function`` node base class, and ``backward``.

How a graph is recorded
-----------------------
Every differentiable op is a subclass of :class:`Function` with a ``forward`` (arrays in, one
array out) and a ``backward`` (the output's gradient in, one gradient per input out).
``Function.apply`` runs ``forward`` and, when grad mode is on and some input requires grad,
keeps the call as a node of the graph: its *parents* (for each input, the node that made it,
the leaf tensor itself, or ``None`` when that input needs no gradient), the values its
``backward`` needs (``save_inputs`` / ``save_output``), and each input's shape and dtype
(``meta``; None for an elementwise op whose inputs all look like its output).

How it is walked
----------------
Each node gets a sequence number when it is recorded. A node's inputs were made before it,
so visiting nodes from the highest number down reaches every node after all of its
consumers: :func:`run_backward` pops the newest waiting node (a heap; a chain, where only
one node waits, skips it), calls its ``backward`` once with the *sum* of the gradients it
received, reduces each input gradient back to that input's shape (un-broadcasting, done
here once for every op) and hands it on. No recursion and no counting pass, so a
100,000-op chain is fine. Leaves accumulate into ``.grad``.

One formula, two modes: a ``backward`` is written with operators and the helpers of
:mod:`microgradlin.ops` that accept both raw arrays and Tensors. Normally it receives arrays
(fast). With ``create_graph=True`` it receives Tensors, so the backward pass is itself
recorded and can be differentiated again (Hessians, Hessian-vector products).
"""

from __future__ import annotations

import functools
import inspect
import threading
from heapq import heappop, heappush
from weakref import ref as _weakref

import numpy as np

from . import backend
from .tensor import Tensor, _as_array, _numbers_array, tick


class _GradModeState(threading.local):
    """Grad mode, per thread as in PyTorch: a no_grad() block in one thread does not stop
    another thread's recording; each new thread starts with recording on."""

    enabled = True


_grad_mode = _GradModeState()
# The engine asks "is this thread recording?" at every op. Each thread that turns recording
# off puts one entry in this list and takes one out when it turns recording back on, so the
# list is empty while every thread records (the usual case) and the engine then reads no
# per-thread state. (list.append and .pop are atomic: no lock.) An entry too many is
# harmless: the engine then asks each thread's flag, slower but still right. So the entry
# goes in before a thread's flag turns off and comes out after it turns on, and a thread
# interrupted in between (Ctrl-C), or one that ends inside no_grad(), leaves one too many,
# never one too few.
_threads_off = []


def _set_grad_mode(enabled):
    """Set this thread's mode (``enabled``: a bool)."""
    if (_grad_mode.enabled if _threads_off else True) is not enabled:
        if enabled:
            _grad_mode.enabled = True
            _threads_off.pop()
        else:
            _threads_off.append(None)
            _grad_mode.enabled = False


# ----------------------------------------------------------------------------- grad mode
def is_grad_enabled() -> bool:
    """Whether new operations are recorded for backward (in this thread)."""
    return _grad_mode.enabled if _threads_off else True


class _GradMode:
    """Base of the grad-mode switches: a context manager and a decorator."""

    __slots__ = ("_prev",)
    _mode = True

    # A training loop enters no_grad() at every step: these two are kept short, with
    # _set_grad_mode written out (each call from here costs about as much as the switch).
    def __enter__(self):  # (returns None, as PyTorch's)
        self._prev = prev = _grad_mode.enabled if _threads_off else True
        if prev is not self._mode:
            if prev:
                _threads_off.append(None)
                _grad_mode.enabled = False
            else:
                _grad_mode.enabled = True
                _threads_off.pop()

    def __exit__(self, exc_type, exc_value, traceback):
        prev = self._prev
        if (_grad_mode.enabled if _threads_off else True) is not prev:
            if prev:
                _grad_mode.enabled = True
                _threads_off.pop()
            else:
                _threads_off.append(None)
                _grad_mode.enabled = False
        return False

    def __call__(self, func):
        mode = self._mode
        if inspect.isgeneratorfunction(func):
            return _generator_in_mode(func, mode)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            switch = _EnableGrad() if mode else _NoGrad()
            with switch:
                return func(*args, **kwargs)

        return wrapper


def _generator_in_mode(func, mode):
    """A decorated generator function: its body runs in the mode at every resumption (the
    wrapper above would cover only the call that creates the generator)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        switch = _EnableGrad() if mode else _NoGrad()
        with switch:
            gen = func(*args, **kwargs)
        try:
            with switch:
                value = gen.send(None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with switch:
                        gen.close()
                    raise
                except BaseException as exc:  # thrown in: pass it on inside the mode
                    with switch:
                        value = gen.throw(exc)
                else:
                    with switch:
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return wrapper


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off, as ``torch.set_grad_enabled``.

    Called as a function it switches the mode at once (``mg.set_grad_enabled(False)``); used
    with ``with`` it restores the previous mode on exit; used as a decorator it applies to
    each call of the function only.
    """

    __slots__ = ("_mode",)

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):  # ("no" would be truthy: grad on)
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self._mode = bool(mode)
        self._prev = is_grad_enabled()
        _set_grad_mode(self._mode)

    def __enter__(self):  # (switched by __init__ already; again for a reused object)
        _set_grad_mode(self._mode)

    def __call__(self, func):
        _set_grad_mode(self._prev)  # as a decorator: no lasting effect at definition time
        return super().__call__(func)


class _NoGrad(_GradMode):
    __slots__ = ()
    _mode = False


class _EnableGrad(_GradMode):
    __slots__ = ()
    _mode = True


# no_grad and enable_grad are functions that return the switch, not classes as in PyTorch:
# a class would need a __new__ of its own for the bare decorator (@mg.no_grad), and calling
# it would cost more than the switch itself at every training step.
def no_grad(func=None):
    """Context manager and decorator: operations inside are not recorded.

    Use it for parameter updates (``w -= lr * w.grad``) and evaluation::

        with mg.no_grad():
            w -= lr * w.grad

        @mg.no_grad()        # or @mg.no_grad
        def predict(x): ...

    Unlike PyTorch's, it is a function that returns the switch, not a class: it cannot be
    subclassed or used in ``isinstance``. (``with ... as s`` binds None, as in PyTorch.)
    """
    if func is None:
        return _NoGrad()
    return _decorate(_NoGrad(), func, "no_grad")


def enable_grad(func=None):
    """Context manager and decorator: record operations even inside ``no_grad()``.

    A function that returns the switch, as :func:`no_grad` (PyTorch's is a class)."""
    if func is None:
        return _EnableGrad()
    return _decorate(_EnableGrad(), func, "enable_grad")


def _decorate(switch, func, name):
    if not callable(func):
        raise TypeError(f"{name}: expected a function to decorate (or no argument), got "
                        f"{type(func).__name__}")
    return switch(func)


# ----------------------------------------------------------------------------- Function
_EMPTY = ()
_ONE_TRUE = (True,)
_TRUE_TRUE, _TRUE_FALSE, _FALSE_TRUE = (True, True), (True, False), (False, True)
_new = object.__new__
_make = Tensor._make
_ndarray = np.ndarray
_generic = np.generic
_asarray = np.asarray
_add_reduce = np.add.reduce
_empty = np.empty
# Every recorded node gets the next tick of the engine's clock: a node's inputs were made
# before it, so walking nodes from the highest number down visits each one after all of its
# consumers. In-place changes stamp versions from the same clock (see ``bump_version``).
_next_seq = tick


class Function:
    """A primitive op: ``forward`` on arrays, ``backward`` on gradients, kept as a graph node.

    Subclasses set ``save_inputs`` (indices of inputs whose values ``backward`` needs) and
    ``save_output`` (whether it needs the output), and implement::

        def forward(self, *arrays, **params) -> array
        def backward(self, grad, *saved_inputs, out) -> grad or tuple of grads

    ``backward`` receives one value per input (``None`` where that input was not saved)
    then the output (``None`` unless saved), and returns one gradient per input (a bare
    gradient for one-input ops). ``self.needs_input_grad[i]`` tells whether input ``i``
    wants one: skip the work where it does not (return ``None``). Gradients may have the
    broadcast shape: the engine sums them back to each input's shape. Return ``grad`` itself
    or new arrays, not an array kept elsewhere (a cached constant must be read-only): a
    leaf's ``.grad`` may become the very array returned.
    """

    __slots__ = ("parents", "needs_input_grad", "saved", "meta", "versions", "retained", "seq",
                 "_hooks", "__weakref__")  # (_hooks: unset until register_hook)
    save_inputs: tuple = ()
    save_output: bool = False
    is_view: bool = False  # output may share memory with input 0 (shares its version cell)
    torch_promotion: bool = False  # elementwise arithmetic: a float operand's dtype wins
    # operands without a shape (lists, numbers) become arrays of the other one's dtype first
    array_operands: bool = False
    # Elementwise ops on float data: a gradient has its input's shape and dtype unless the
    # inputs were broadcast or mixed dtypes. Their nodes then skip ``meta`` (and the engine
    # its shape/dtype check): ``meta is None`` means "every input looks like the output".
    elementwise: bool = False
    # x @ y: for operands of at most two dimensions and one dtype the rule's gradients have
    # each input's shape and dtype (only batched stacks broadcast): no ``meta`` either
    fits_up_to_2d: bool = False
    # x * y, x @ y: each input's value is needed only for the other's gradient, so a saved
    # input is watched for in-place changes only where the other input wants a gradient
    # (w * c with a constant c: an in-place change of w before backward is harmless). A
    # pair of flags says it per input: x / y reads x only for y's gradient, y for both.
    save_crossed: bool | tuple = False

    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' data and, if recording, keep this node."""
        if len(inputs) == 1 and inputs[0].__class__ is Tensor:
            return cls.apply_unary(inputs[0], params or None)
        if len(inputs) == 2:
            return cls.apply_binary(inputs[0], inputs[1], params or None)
        fn = _new(cls)
        datas = [a.data if a.__class__ is Tensor else a for a in inputs]
        if backend.multi_device:
            _check_same_device(cls, inputs, datas)
        try:
            out = fn.forward(*datas, **params)
        except (ValueError, TypeError, IndexError) as exc:
            raise _op_error(cls, inputs, exc) from None
        if out.__class__ is not _ndarray and isinstance(out, _generic):
            out = _asarray(out)
        vc = inputs[0]._vc if fn.is_view and inputs[0].__class__ is Tensor else [0]
        needs = tuple([a.__class__ is Tensor and a._rg for a in inputs])
        if not (True in needs and (not _threads_off or _grad_mode.enabled)):
            return _make(out, None, False, vc)
        fn.seq = _next_seq()
        fn.needs_input_grad = needs
        fn.parents = tuple([(a.grad_fn or a) if r else None for a, r in zip(inputs, needs)])
        fn.meta = tuple([(d.shape, d.dtype) if r else None for d, r in zip(datas, needs)])
        saved = [None] * (len(inputs) + 1)
        versions = []
        for i in cls.save_inputs:
            saved[i] = datas[i]
            a = inputs[i]
            if a.__class__ is Tensor:
                versions.append(a._vc)
        if cls.save_output:
            saved[-1] = out
            versions.append(vc)
        fn.saved = saved
        fn.versions = versions
        fn.retained = None
        return _make(out, fn, True, vc)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Each op class gets its own fast entries, built once: the class settings they read
        # become closure constants. (Tensor's operators *are* these functions.)
        if "apply_unary" not in vars(cls):
            cls.apply_unary = staticmethod(_unary_entry(cls))
        if "apply_binary" not in vars(cls):
            cls.apply_binary = staticmethod(_binary_entry(cls))

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    # Subclasses implement these two.
    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad, *saved):  # pragma: no cover - abstract
        raise NotImplementedError


_PY_NUMBERS = frozenset((float, int, bool))  # a set: a miss costs one hash lookup


# ----------------------------------------------------------------------------- fast entries
_P = inspect.Parameter
_AS_METHOD = {1: inspect.Signature([_P("self", _P.POSITIONAL_ONLY)]),
              2: inspect.Signature([_P("self", _P.POSITIONAL_ONLY),
                                    _P("other", _P.POSITIONAL_ONLY)])}
def _node_maker(cls):
    """How to make a bare node of ``cls``: calling the class is quickest, unless it has an
    ``__init__`` of its own (which ``apply`` never calls)."""
    if cls.__init__ is object.__init__:
        return cls
    return functools.partial(_new, cls)


def _static_view(cls):
    """``cls.is_view`` when the class fixes it; None when each node sets its own (a slot)."""
    return cls.is_view if cls.is_view.__class__ is bool else None


def _kw(cls, params):
    if params.__class__ is not dict:
        raise TypeError(f"got an unexpected argument {params!r}")
    return params


def _unary_entry(cls):
    """``cls.apply`` specialised for one Tensor input: the hot path of every unary op."""
    save_input = 0 in cls.save_inputs
    save_output = cls.save_output
    elementwise = cls.elementwise
    view = _static_view(cls)
    new = _node_maker(cls)

    def apply_unary(x, params=None):
        """``params``: a dict of keyword arguments for ``forward``, or None."""
        fn = new()
        data = x.data
        try:
            out = fn.forward(data) if params is None else fn.forward(data, **_kw(cls, params))
        except (ValueError, TypeError, IndexError) as exc:
            raise _op_error(cls, (x,), exc) from None
        if out.__class__ is not _ndarray and isinstance(out, _generic):
            out = _asarray(out)
        vc = x._vc if (fn.is_view if view is None else view) else [0]
        if x._rg and (not _threads_off or _grad_mode.enabled):
            fn.seq = _next_seq()
            fn.parents = (x.grad_fn or x,)
            fn.needs_input_grad = _ONE_TRUE
            fn.meta = None if elementwise else ((data.shape, data.dtype),)
            if save_input:
                if save_output:
                    fn.saved = (data, out)
                    fn.versions = (x._vc, vc)
                else:
                    fn.saved = (data, None)
                    fn.versions = (x._vc,)
            elif save_output:
                fn.saved = (None, out)
                fn.versions = (vc,)
            else:
                fn.saved = (None, None)
                fn.versions = _EMPTY
            fn.retained = None
        else:
            fn = None  # not recorded (no_grad(), constants): a plain Tensor
        t = _new(Tensor)  # Tensor._make, inlined (the hot path)
        t.data = out
        t.grad_fn = fn
        t._rg = fn is not None
        t._grad = None
        t._grad_owned = False
        t.name = None
        t._vc = vc
        return t

    # its own copy of the code: CPython specialises attribute access per code object, and a
    # code object shared by every op class would see a different node class at every call
    apply_unary.__code__ = apply_unary.__code__.replace()
    apply_unary.__qualname__ = f"{cls.__name__}.apply_unary"
    apply_unary.__doc__ = cls.__doc__
    apply_unary.__signature__ = _AS_METHOD[1]  # as Tensor's methods show it: x.exp()
    return apply_unary


def _binary_entry(cls):
    """``cls.apply`` specialised for two inputs (Tensors or constants): the hot path of the
    arithmetic operators."""
    save_0 = 0 in cls.save_inputs
    save_1 = 1 in cls.save_inputs
    save_output = cls.save_output
    elementwise = cls.elementwise
    fits_up_to_2d = cls.fits_up_to_2d
    torch_promotion = cls.torch_promotion
    array_operands = cls.array_operands
    view = _static_view(cls)
    new = _node_maker(cls)
    save_crossed = cls.save_crossed
    crossed_0, crossed_1 = save_crossed if save_crossed.__class__ is tuple else (
        save_crossed, save_crossed)

    def apply_binary(x, y, params=None):
        """``params``: a dict of keyword arguments for ``forward``, or None."""
        fn = new()
        if x.__class__ is Tensor:
            xd = x.data
            x_rg = x._rg
        else:
            if array_operands and not hasattr(x, "ndim"):
                x = _as_array(x, _float_or_none(_dtype_of(y)))
            xd = x
            x_rg = False
        if y.__class__ is Tensor:
            yd = y.data
            y_rg = y._rg
        else:
            if array_operands and not hasattr(y, "ndim"):
                y = _as_array(y, _float_or_none(_dtype_of(x)))
            yd = y
            y_rg = False
        # promote as PyTorch does (a Python number is weak in NumPy already) and check that
        # arrays share a device: only for two arrays, and only where the quick tests fail
        if yd.__class__ is _ndarray and xd.__class__ is _ndarray:  # two host arrays
            number = False
            if xd.dtype is not yd.dtype:
                if torch_promotion:
                    xd, yd = _promote_like_torch(xd, yd, cls)
                else:
                    _check_real(cls, xd, yd)
        elif yd.__class__ in _PY_NUMBERS or xd.__class__ in _PY_NUMBERS:
            number = True
        else:
            number = False
            if torch_promotion and (xd.__class__ is not yd.__class__
                                    or xd.dtype is not yd.dtype):
                xd, yd = _promote_like_torch(xd, yd, cls)
            if backend.multi_device:
                _check_same_device(cls, (x, y), (xd, yd))
        try:
            if params is None:
                out = fn.forward(xd, yd)
            elif params.__class__ is dict and len(params) == 1 and "reduction" in params:
                # a loss's one option, spelled out: f(**kw) is a slower call in CPython 3.11
                out = fn.forward(xd, yd, reduction=params["reduction"])
            else:
                out = fn.forward(xd, yd, **(params if params.__class__ is dict
                                            else _kw(cls, params)))
        except (ValueError, TypeError, IndexError) as exc:
            raise _op_error(cls, (x, y), exc) from None
        if out.__class__ is not _ndarray and isinstance(out, _generic):
            out = _asarray(out)
        vc = (x._vc if (fn.is_view if view is None else view) and x.__class__ is Tensor
              else [0])
        if (x_rg or y_rg) and (not _threads_off or _grad_mode.enabled):
            fn.seq = _next_seq()
            fn.parents = ((x.grad_fn or x) if x_rg else None, (y.grad_fn or y) if y_rg else None)
            fn.needs_input_grad = (_TRUE_TRUE if y_rg else _TRUE_FALSE) if x_rg else _FALSE_TRUE
            if elementwise and (
                    # a float or int operand (a bool one is an array to Pow's rule) ...
                    number and xd.__class__ is not bool and yd.__class__ is not bool
                    # ... or two tensors of one shape and dtype (lists have no shape)
                    or x.__class__ is Tensor and y.__class__ is Tensor
                    and xd.shape == yd.shape and xd.dtype is yd.dtype):
                fn.meta = None  # no broadcasting, one dtype: each gradient fits its input as is
            elif (fits_up_to_2d and xd.__class__ is _ndarray and yd.__class__ is _ndarray
                  and xd.ndim <= 2 and yd.ndim <= 2 and xd.dtype is yd.dtype):
                fn.meta = None  # (X @ w; not a subclass such as np.matrix, whose @ is its own)
            else:  # each input's own shape and dtype (xd, yd may have been promoted)
                fn.meta = ((x.data.shape, x.data.dtype) if x_rg else None,
                           (y.data.shape, y.data.dtype) if y_rg else None)
            # the version cells of the saved tensors (constants such as 0.9 have none)
            if save_crossed:
                watch_0 = save_0 and (y_rg or not crossed_0)
                watch_1 = save_1 and (x_rg or not crossed_1)
            else:
                watch_0, watch_1 = save_0, save_1
            if watch_0 and x.__class__ is Tensor:
                versions = (x._vc, y._vc) if watch_1 and y.__class__ is Tensor else (x._vc,)
            elif watch_1 and y.__class__ is Tensor:
                versions = (y._vc,)
            else:
                versions = _EMPTY
            if save_output:
                versions += (vc,)
            fn.saved = (xd if save_0 else None, yd if save_1 else None,
                        out if save_output else None)
            fn.versions = versions
            fn.retained = None
        else:
            fn = None  # not recorded (no_grad(), constants): a plain Tensor
        t = _new(Tensor)  # Tensor._make, inlined: this is the hottest path of the engine
        t.data = out
        t.grad_fn = fn
        t._rg = fn is not None
        t._grad = None
        t._grad_owned = False
        t.name = None
        t._vc = vc
        return t

    apply_binary.__code__ = apply_binary.__code__.replace()  # as in _unary_entry
    apply_binary.__qualname__ = f"{cls.__name__}.apply_binary"
    apply_binary.__doc__ = cls.__doc__
    apply_binary.__signature__ = _AS_METHOD[2]  # as Tensor's operators show it: x + y
    return apply_binary


def _float_or_none(dtype):
    """A list operand takes the other operand's float dtype (float32 stays float32); against
    an integer one it is read as mg.tensor reads lists (floats stay floats)."""
    return dtype if dtype is not None and dtype.kind == "f" else None


def _dtype_of(v):
    return v.data.dtype if v.__class__ is Tensor else getattr(v, "dtype", None)


def _float_dtype(d):
    dtype = getattr(d, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" and d.ndim > 0 else None


def _check_real(cls, *operands, name=None):
    """Operands of arithmetic must be real numbers (no complex, text or objects)."""
    for v in operands:
        if hasattr(v, "dtype"):
            kind = v.dtype.kind
        elif v.__class__ in _PY_NUMBERS:
            continue
        else:  # a list, a Fraction, ...: as NumPy would read it
            kind = np.asarray(v).dtype.kind
        if kind not in "biuf":
            raise TypeError(
                f"{name or (op_name(cls) if cls is not None else 'operation')}: operands must "
                f"be real numbers (bool, integer or float), got {_describe(v)}")


def _promote_like_torch(xd, yd, cls=None):
    """PyTorch's promotion where NumPy 2's differs: an n-d float array keeps its dtype against
    NumPy scalars, 0-d arrays and integer/bool operands (float32 stays float32); without an
    n-d float, a 0-d float array keeps its dtype against NumPy scalars and integer/bool
    arrays of any shape. (Called only where the operands' types or dtypes differ: there it
    also refuses operands that are not real numbers.)"""
    _check_real(cls, xd, yd)
    fx, fy = _float_dtype(xd), _float_dtype(yd)
    if fx is None and fy is None:  # no n-d float: a 0-d float array leads, if there is one
        fx, fy = _float_dtype_0d(xd), _float_dtype_0d(yd)
    if fx is not None and fy is None:
        return xd, _weak(yd, fx)
    if fy is not None and fx is None:
        return _weak(xd, fy), yd
    return xd, yd


def _float_dtype_0d(d):
    dtype = getattr(d, "dtype", None)
    if dtype is None or dtype.kind != "f" or d.ndim or isinstance(d, _generic):
        return None
    return dtype


def _weak(v, float_dtype):
    dtype = getattr(v, "dtype", None)
    if dtype is None or dtype == float_dtype:
        return v  # Python numbers are weak in NumPy 2 already
    if dtype.kind in "biuf" and (v.ndim == 0 or dtype.kind != "f"):
        return v.astype(float_dtype)
    return v


def _describe(x) -> str:
    if isinstance(x, Tensor):
        return f"Tensor of shape {tuple(x.shape)} and dtype {x.dtype} on {x.device}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def op_name(cls) -> str:
    return getattr(cls, "op_name", None) or cls.__name__.lower()


def _op_error(cls, inputs, exc):
    shapes = [tuple(x.shape) for x in inputs if hasattr(x, "shape")]
    text = str(exc)
    if "broadcast" in text and len(shapes) >= 2:
        msg = (
            f"{op_name(cls)}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
            f"together (NumPy broadcasting: trailing dimensions must be equal or 1)"
        )
    else:
        msg = f"{op_name(cls)}: {text} (inputs: {'; '.join(_describe(x) for x in inputs)})"
    return _plain_error_type(exc)(msg)


class AxisError(ValueError, IndexError):
    """An axis out of range: an IndexError, as PyTorch's "dimension out of range", and a
    ValueError, as NumPy's ``AxisError``."""


def _plain_error_type(exc):
    """The builtin class of ``exc``: NumPy's own subclasses need extra constructor args."""
    if isinstance(exc, ValueError) and isinstance(exc, IndexError):  # NumPy's AxisError
        return AxisError
    for kind in (ValueError, IndexError, TypeError):
        if isinstance(exc, kind):
            return kind
    return RuntimeError


def _check_same_device(cls, inputs, datas):
    # 0-d arrays and Python numbers combine with any device, as in PyTorch
    devices = {backend.device_of(d) for d in datas if getattr(d, "ndim", 0) > 0}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op_name(cls)}: expected all inputs on the same device, but found "
            f"{' and '.join(sorted(devices))} ({'; '.join(_describe(x) for x in inputs)}); "
            f"move them with .to(device)"
        )


# ----------------------------------------------------------------------------- engine
def _freed_error(node):
    return RuntimeError(
        f"Trying to backward through the graph a second time (node {type(node).__name__}): "
        "its saved values were freed after the first backward(). Pass retain_graph=True to "
        "the first backward() (or mg.grad) if you need to backward through it again."
    )


def _version_error(node):
    return RuntimeError(
        f"A value saved for the backward of {type(node).__name__} was modified by an in-place "
        "operation after it was saved, so its gradient would be wrong. Do the in-place "
        "update after backward(), or use an out-of-place op (x = x + y)."
    )


def _as_tensor_values(node, saved):
    """create_graph mode: wrap the saved arrays as Tensors that carry their own graph."""
    values = []
    parents = node.parents
    n = len(parents)
    for i, v in enumerate(saved):
        if v is None:
            values.append(None)
        elif i == n:  # the output: a fresh Tensor whose grad_fn is this very node
            values.append(Tensor._make(v, node, True, [0]))
        else:
            p = parents[i]
            if p is None:  # a constant; a Python number stays one (a Tensor needs an array)
                values.append(Tensor._make(v, None, False, [0]) if hasattr(v, "ndim") else v)
            elif p.__class__ is Tensor:
                values.append(p)  # the leaf itself
            else:
                values.append(Tensor._make(v, p, True, [0]))
    return values


def run_backward(roots, seeds, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Back-propagate ``seeds`` (gradients of ``roots``) through the recorded graph.

    Without ``inputs``: accumulate into the ``.grad`` of every leaf that requires grad.
    With ``inputs`` (``mg.grad``): return their gradients instead, touching no ``.grad``.

    Nodes are visited newest first (by their ``seq`` number), so a node runs once, after
    every consumer has added its gradient. A node that is the only one waiting (a chain)
    goes next directly; others wait in a heap, their gradients summed in ``buffers``. With
    ``inputs`` only the nodes that lead to them run. A computed tensor's hooks
    (``register_hook``) see its summed gradient before its node runs; a leaf's are held
    until the walk ends, so that they too see the sum.
    """
    # capture: the tensors mg.grad asked about, keyed by their node (or by the leaf itself)
    capture = None if inputs is None else {(t.grad_fn or t): None for t in inputs}
    heap = []  # (-seq, node) of the nodes waiting, newest on top
    buffers = {}  # node in the heap -> sum of the gradients it has received so far
    owned = None  # nodes whose buffer we allocated ourselves (a set, made at the first sum)
    plain = capture is None and not create_graph  # loss.backward(): into .grad as arrays
    hooked = _hooks_in_use[0]  # some tensor has had a register_hook() hook
    held = None  # leaf -> the sum of its gradients, for leaves with hooks (a dict)
    observing = capture is not None or hooked
    # mg.grad runs only the nodes with an input it asks about below them, as PyTorch does
    needed = None if capture is None else _needed_nodes(roots, capture)
    shared = None  # ids of arrays that a rule returned for two inputs, now held by nodes
    if len(roots) == 1 and roots[0].grad_fn is not None:  # loss.backward()
        node, g = roots[0].grad_fn, seeds[0]
    else:
        for root, seed in zip(roots, seeds):
            node = root.grad_fn
            if node is None:
                if hooked and _has_hooks(root):  # its hooks see the sum: later
                    held = _hold(held, root, seed)
                else:
                    _deliver_to_leaf(root, seed, capture, create_graph)
            elif node in buffers:
                buffers[node] = buffers[node] + seed
            else:
                buffers[node] = seed
                heappush(heap, (-node.seq, node))
        if not heap:
            if held is not None:
                _deliver_held(held, plain, shared, capture, create_graph)
            return _collect(capture, inputs, allow_unused)
        node = heappop(heap)[1]
        g = buffers.pop(node)
    # The backward pass is recorded only with create_graph: its rules then get Tensors, and
    # grad mode must be on for them (also inside no_grad()). Without it they get raw arrays,
    # which record nothing whatever the mode: the mode is left as it is (two switches per
    # backward, each a thread-local write, would be paid by every training step).
    switch_on = create_graph and not is_grad_enabled()
    if switch_on:
        _set_grad_mode(True)
    try:
        while True:
            if needed is not None and node not in needed:  # (mg.grad: nothing below it)
                if node.retained is not None or observing:
                    _observe(node, g, capture, create_graph)
                if not heap:
                    break
                node = heappop(heap)[1]
                g = buffers.pop(node)
                continue
            saved = node.saved
            if saved is None:
                raise _freed_error(node)
            for vc in node.versions:  # a saved tensor stamped after this node was made
                if vc[0] > node.seq:
                    raise _version_error(node)
            if node.retained is not None or observing:
                g = _observe(node, g, capture, create_graph)
            if create_graph:
                grads = node.backward(g, *_as_tensor_values(node, saved))
            elif len(saved) == 3:  # a binary op's (x, y, out); spelled out, as f(*args) is a
                grads = node.backward(g, saved[0], saved[1], saved[2])  # slower call in 3.11
            elif len(saved) == 2:  # a unary op's (x, out)
                grads = node.backward(g, saved[0], saved[1])
            else:
                grads = node.backward(g, *saved)
            if not retain_graph:
                node.saved = None
            parents = node.parents
            if needed is not None:  # mg.grad: only towards what it asks about
                parents = tuple([p if p is not None and (p in capture or p in needed) else None
                                 for p in parents])
            meta = node.meta
            n_inputs = len(parents)
            # one input needs a gradient (x.exp(), x * 0.9, X @ w with a constant X: most
            # nodes): hand it on without a loop
            if n_inputs == 1:
                parent = parents[0]
                k = 0
                if grads.__class__ is tuple:  # a custom backward may return (g,), as in PyTorch
                    grads = grads[0]
            elif n_inputs == 2 and (parents[0] is None or parents[1] is None):
                k = 0 if parents[1] is None else 1
                parent = parents[k]
                grads = grads[k]
            else:
                parent = None
            if parent is not None:
                if grads is not None:  # (None: a custom backward's "no gradient", as PyTorch)
                    if meta is not None:
                        shape, dtype = meta[k]
                        if grads.shape != shape or grads.dtype is not dtype:
                            grads = _fit(node, grads, meta[k])
                    if parent.__class__ is Tensor:
                        if hooked and _has_hooks(parent):  # its hooks see the sum: later
                            held = _hold(held, parent, grads)
                        else:
                            _to_leaf(parent, grads, plain, shared, capture, create_graph)
                    elif buffers and parent in buffers:
                        owned = _accumulate(buffers, owned, parent, grads, create_graph)
                    elif not heap:  # a chain: the input's node is the only one waiting
                        node, g = parent, grads
                        continue
                    else:
                        buffers[parent] = grads
                        heappush(heap, (-parent.seq, parent))
            else:
                nxt = g_nxt = None  # the next node, while it is the only one waiting
                first = None  # what the first input was handed
                for i, parent in enumerate(parents):
                    if parent is None:
                        continue
                    gi = grads[i]
                    if gi is None:  # a custom backward's "no gradient here", as PyTorch
                        continue
                    if meta is not None:
                        shape, dtype = meta[i]
                        if gi.shape != shape or gi.dtype is not dtype:
                            gi = _fit(node, gi, meta[i])
                    if not i:
                        first = gi
                    elif plain and (gi is first or i > 1 and _returned_before(gi, grads, i)):
                        # one array for two inputs (x + y returns (g, g)): a leaf gets a copy
                        # of its own (a write into one .grad must not change another); a
                        # node passes it on, and a leaf it reaches as it is copies it then
                        if parent.__class__ is Tensor:
                            gi = gi.copy()
                        elif shared is None:
                            shared = {id(gi)}
                        else:
                            shared.add(id(gi))
                    if parent.__class__ is Tensor:
                        if hooked and _has_hooks(parent):  # its hooks see the sum: later
                            held = _hold(held, parent, gi)
                        else:
                            _to_leaf(parent, gi, plain, shared, capture, create_graph)
                    elif parent is nxt:  # two inputs made by one node (x * x)
                        g_nxt = g_nxt + gi
                    elif buffers and parent in buffers:
                        owned = _accumulate(buffers, owned, parent, gi, create_graph)
                    elif nxt is None and not heap:
                        nxt, g_nxt = parent, gi
                    else:
                        if nxt is not None:  # no longer the only one waiting: to the heap
                            buffers[nxt] = g_nxt
                            heappush(heap, (-nxt.seq, nxt))
                            nxt = None
                        buffers[parent] = gi
                        heappush(heap, (-parent.seq, parent))
                if nxt is not None:
                    node, g = nxt, g_nxt
                    continue
            if not heap:
                break
            node = heappop(heap)[1]
            g = buffers.pop(node)
        if held is not None:
            _deliver_held(held, plain, shared, capture, create_graph)
    finally:
        if switch_on:
            _set_grad_mode(False)
    return None if capture is None else _collect(capture, inputs, allow_unused)


def _needed_nodes(roots, capture):
    """The nodes whose backward ``mg.grad`` must run: those with a tensor it asks about (a
    key of ``capture``) among their inputs, or below them."""
    needed, seen = set(), set()
    stack = [(root.grad_fn, False) for root in roots if root.grad_fn is not None]
    while stack:  # depth first, each node decided after all of its input nodes
        node, inputs_done = stack.pop()
        if inputs_done:
            if any(p is not None and (p in capture or p in needed) for p in node.parents):
                needed.add(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents
                         if p is not None and p.__class__ is not Tensor and p not in seen)
    return needed


def _observe(node, g, capture, create_graph):
    """Hand ``g``, the gradient of ``node``'s output, to its tensor's hooks (which may
    replace it), then to retain_grad() and to mg.grad, as PyTorch does; return it."""
    if _hooks_in_use[0]:
        g = _run_hooks(node, g, create_graph)
    if node.retained is not None:
        _retained_grad(node, g, create_graph)
    if capture is not None and node in capture:
        capture[node] = g
    return g


def _fit(node, gi, shape_dtype):
    """Undo broadcasting and dtype promotion: ``gi`` summed and cast to its input's (the
    engine's and ``viz.trace_backward``'s one place for it)."""
    shape, dtype = shape_dtype
    if not shape and dtype is _FLOAT64 and gi.__class__ is _ndarray and gi.dtype is dtype \
            and gi.ndim == 1 and (ones := _ONE_VECTORS.get(len(gi))) is not None:
        out = _empty((), dtype)  # x @ w + b: b's gradient, Σ g as a 0-d array (sum_all, inlined)
        gi.dot(ones, out)
        return out
    if gi.shape != shape:
        gi = gi.sum_to(shape) if isinstance(gi, Tensor) else sum_to_array(gi, shape)
        if gi.shape != shape:
            raise _shape_error(node, gi.shape, shape)
    if gi.dtype is not dtype and gi.dtype != dtype:
        gi = gi.astype(dtype)
    return gi


def _accumulate(buffers, owned, node, gi, create_graph):
    """Add ``gi`` to what ``node`` has received: in place once the buffer is our own.
    Returns ``owned``, the set of nodes whose buffer is our own (None before the first)."""
    buf = buffers[node]
    if owned is not None and node in owned and not create_graph:
        buf += gi
        buffers[node] = buf  # 0-d sums are NumPy scalars: += rebinds them
        return owned
    buffers[node] = buf + gi
    if owned is None:
        return {node}
    owned.add(node)
    return owned


def _returned_before(gi, grads, i):
    """Whether a backward rule returned the array ``gi`` for an input before input ``i``."""
    for j in range(i):
        if grads[j] is gi:
            return True
    return False


def _to_leaf(leaf, gi, plain, shared, capture, create_graph):
    """Deliver ``gi`` to a leaf: as its first ``.grad`` (plain backward), else as a sum
    into it or to mg.grad (``_deliver_to_leaf``).

    A first gradient is ``gi`` itself, unless it is a view, read-only (the cached seed), a
    NumPy scalar or in ``shared`` (returned by a rule for two inputs, so maybe another
    leaf's too): then an array of its own. (A rule's other results are arrays it made, as
    the contract of ``Function.backward`` asks: no other leaf holds them.)"""
    if not plain or leaf._grad is not None:
        _deliver_to_leaf(leaf, gi, capture, create_graph)
        return
    if gi.__class__ is not _ndarray or gi.base is not None or not gi.flags.writeable:
        gi = _fresh(gi)
    if shared is not None and id(gi) in shared:
        gi = gi.copy()
    grad = _new(Tensor)  # Tensor._make, inlined (every parameter, every step)
    grad.data = gi
    grad.grad_fn = None
    grad._rg = False
    grad._grad = None
    grad._grad_owned = False
    grad.name = None
    grad._vc = [0]
    leaf._grad = grad
    leaf._grad_owned = False  # gi may be shared: never write into it


def _fresh(g):
    """``g`` as an array a ``.grad`` may hold: not a view of, or read-only like, another."""
    if g.__class__ is _ndarray:
        if g.base is not None or not g.flags.writeable:
            return g.copy()
        return g
    if isinstance(g, _generic):
        return _asarray(g)
    return g if g.base is None else g.copy()


def _shape_error(node, got, want):
    return RuntimeError(
        f"internal error in the backward of {type(node).__name__}: it produced a gradient of "
        f"shape {tuple(got)} for an input of shape {tuple(want)} (not a broadcast of it)"
    )


def _deliver_to_leaf(leaf, g, capture, create_graph):
    if capture is None:
        _accumulate_leaf(leaf, g, create_graph)
    elif leaf in capture:
        prev = capture[leaf]
        capture[leaf] = g if prev is None else prev + g


def _retained_grad(node, g, create_graph):
    tensor = node.retained()
    if tensor is not None:  # a copy: g itself flows on to the inputs' gradients
        _accumulate_leaf(tensor, g if isinstance(g, Tensor) else g.copy(), create_graph)


def _collect(capture, inputs, allow_unused):
    if capture is None:
        return None
    result = []
    for i, t in enumerate(inputs):
        g = capture[t.grad_fn if t.grad_fn is not None else t]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"mg.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
            )
        if g is not None and not isinstance(g, Tensor):
            g = _fresh(g)
            if any(r is not None and r.data is g for r in result):
                g = g.copy()  # one array for two inputs (e.g. a + b): give each its own
            g = Tensor._make(g, None, False, [0])
        result.append(g)
    return tuple(result)


_ONE_VECTORS = {}  # n -> a read-only float64 vector of n ones
_FLOAT64 = np.dtype(np.float64)


def sum_all(g, out=None):
    """Σ g over all elements of a host array: a NumPy scalar, or ``out`` (a 0-d array).

    A short 1-D float64 vector is summed as the dot product g · 1 with a cached vector of
    ones: NumPy's ``add.reduce`` costs about twice as much at these lengths, almost all of it
    call overhead. (float64 only: BLAS accumulates in the vector's own precision.)
    """
    # (a single element stays with add.reduce, which gives -0.0 + 0 = 0.0 as NumPy's sum does)
    if g.ndim == 1 and g.dtype is _FLOAT64 and 1 < (n := len(g)) <= 4096:
        ones = _ONE_VECTORS.get(n)
        if ones is None:
            ones = np.ones(n)
            ones.flags.writeable = False
            if len(_ONE_VECTORS) < 32:
                _ONE_VECTORS[n] = ones
        if out is None:
            return g.dot(ones)
        g.dot(ones, out)  # (returns a NumPy scalar for a 0-d out, not out itself)
        return out
    return _add_reduce(g, None, None, out)


def sum_to_array(g, shape):
    """Sum the array ``g`` over the axes that broadcasting added or stretched to reach
    ``shape``."""
    if not shape:  # to a scalar (x @ w + b: b's gradient), into a 0-d array (not a NumPy
        # scalar, which a .grad would have to convert)
        if g.__class__ is not _ndarray:
            return g.sum()
        # (NumPy widens bool and small-integer sums: only a float sum keeps its dtype)
        return sum_all(g, _empty((), g.dtype)) if g.dtype.kind == "f" else sum_all(g)
    lead = g.ndim - len(shape)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if lead:
        g = g.sum(axis=tuple(range(lead)) if lead > 1 else 0)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _accumulate_leaf(leaf, g, create_graph):
    """``leaf.grad += g``: in place once the buffer is our own, else out of place."""
    if isinstance(g, Tensor):
        if not create_graph:
            g = g.data
    elif create_graph:
        g = Tensor._make(g, None, False, [0])
    current = leaf._grad
    if current is None:
        if isinstance(g, Tensor):  # create_graph: a copy of its own, as PyTorch's (g may go
            # to another leaf too: a + b), recorded when g has a graph
            leaf._grad = g.clone() if g._rg else Tensor._make(g.data.copy(), None, False, [0])
        else:
            leaf._grad = Tensor._make(_fresh(g), None, False, [0])
        leaf._grad_owned = False  # g may be shared with another gradient: never write into it
    elif create_graph or current._rg:
        leaf._grad = current + g
        leaf._grad_owned = False
    elif leaf._grad_owned:
        current.data += g
    else:
        current.data = _fresh(current.data + g)  # 0-d sums come back as NumPy scalars
        leaf._grad_owned = True


def _seed_for(t, gradient, create_graph, what="backward"):
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"{what}: grad can be implicitly created only for scalar outputs, but the "
                f"output has shape {tuple(t.shape)}; pass gradient= (grad_outputs=) of that "
                "shape, or reduce it first (e.g. loss.sum() or loss.mean())"
            )
        seed = _ones_like(t.data)
    else:
        if isinstance(gradient, Tensor):
            if create_graph:
                if tuple(gradient.shape) != tuple(t.shape):
                    raise _grad_shape_error(what, gradient.shape, t.shape)
                return gradient.astype(t.data.dtype)  # a differentiable cast (self if equal)
            gradient = gradient.data
        xp = backend.get_array_module(t.data)
        try:
            if not hasattr(gradient, "dtype"):  # numbers, as mg.tensor takes them (no None,
                seed = _numbers_array(gradient, t.data.dtype)  # text or complex)
            elif gradient.dtype.kind not in "biuf":
                raise TypeError(f"dtype {gradient.dtype}")
            else:
                seed = gradient
            seed = xp.array(seed, dtype=t.data.dtype)  # a copy: never alias the caller's
        except (TypeError, ValueError):
            raise TypeError(f"{what}: gradient must be a Tensor or an array of shape "
                            f"{tuple(t.shape)}, got {_describe(gradient)}") from None
        if seed.shape != t.data.shape:
            raise _grad_shape_error(what, seed.shape, t.shape)
    if create_graph:
        return Tensor._make(seed, None, False, [0])
    return seed


_ONES = {}  # (shape, dtype) -> ones; a 0-d one (a scalar loss's seed) by its dtype alone


def _ones_like(data):
    """A read-only array of ones like ``data`` (cached: the usual seed of backward())."""
    if data.__class__ is not _ndarray:
        return backend.get_array_module(data).ones(data.shape, dtype=data.dtype)
    key = (data.shape, data.dtype) if data.ndim else data.dtype
    seed = _ONES.get(key)
    if seed is None:
        seed = np.ones(data.shape, dtype=data.dtype)
        seed.flags.writeable = False
        if len(_ONES) < 64:
            _ONES[key] = seed
    return seed


def _grad_shape_error(what, got, want):
    return RuntimeError(
        f"{what}: gradient has shape {tuple(got)} but the output has shape {tuple(want)}; "
        "they must match"
    )


def _check_root(t, i, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected Tensors, got {type(t).__name__} at position {i}")
    if not t._rg:
        raise RuntimeError(
            f"{what}: element {i} of the outputs does not require grad and has no grad_fn "
            "(was it computed under no_grad(), or from tensors without requires_grad=True?)"
        )


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradient of ``tensor`` into the ``.grad`` of every leaf
    (``Tensor.backward`` is this function: ``loss.backward()``).

    ``gradient`` is d(something)/d(tensor) and is required unless the tensor has one
    element. The graph's saved values are freed afterwards unless ``retain_graph=True``;
    ``create_graph=True`` records the backward pass so grads of grads can be taken.
    ``inputs`` (a tensor or a sequence of them), as in PyTorch: accumulate into their
    ``.grad`` only (a computed tensor among them gets one too), and run only the part of
    the graph that leads to them.
    """
    data = tensor.data if tensor.__class__ is Tensor else None
    if gradient is None and not create_graph and data is not None and tensor._rg \
            and data.size == 1:
        seed = _ones_like(data)  # the common case, loss.backward()
    else:
        _check_root(tensor, 0, "backward")
        seed = _seed_for(tensor, gradient, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward([tensor], [seed], retain_graph, create_graph)
        return
    inputs = _backward_inputs(inputs)
    grads = run_backward([tensor], [seed], retain_graph, create_graph, inputs=inputs,
                         allow_unused=True)
    for t, g in zip(inputs, grads):
        if g is not None:
            _accumulate_leaf(t, g, create_graph)


def _backward_inputs(inputs):
    """``backward``'s ``inputs`` as a non-empty list of tensors that require grad."""
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    elif isinstance(inputs, (list, tuple)):
        inputs = list(inputs)
    else:
        raise TypeError("backward: inputs must be a tensor or a non-empty list or tuple of "
                        f"tensors, got {_describe(inputs)}")
    if not inputs:
        raise RuntimeError("backward: inputs must be a tensor or a non-empty list or tuple "
                           "of tensors, got an empty one")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: inputs[{i}] is {_describe(t)}, not a Tensor")
        if not t._rg:
            raise RuntimeError(f"backward: inputs[{i}] (shape {tuple(t.shape)}) does not "
                               "require grad")
    return inputs


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Computes sum_k grad_outputs[k] · d outputs[k] / d inputs without touching any ``.grad``.
    With ``create_graph=True`` the results carry a graph, so they can be differentiated again.
    """
    single_out = isinstance(outputs, Tensor)
    for what, v in (("outputs", outputs), ("inputs", inputs)):
        if isinstance(v, (str, bytes, dict)) or not (
                isinstance(v, Tensor) or hasattr(v, "__iter__")):
            raise TypeError(f"mg.grad: {what} must be a Tensor or a sequence of Tensors, got "
                            f"{type(v).__name__}")
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or (
        single_out and not isinstance(grad_outputs, (list, tuple))
    ):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"mg.grad: got {len(outputs)} outputs but {len(grad_outputs)} grad_outputs"
        )
    for i, t in enumerate(outputs):
        _check_root(t, i, "mg.grad")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"mg.grad: input {i} is a {type(t).__name__}, expected a Tensor")
        if not t._rg:
            raise RuntimeError(
                f"mg.grad: input {i} does not require grad; create it with requires_grad=True"
            )
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed_for(t, g, create_graph, "mg.grad") for t, g in zip(outputs, grad_outputs)]
    return run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                        inputs=inputs, allow_unused=allow_unused)


# ----------------------------------------------------------------------------- hooks
# Tensor.register_hook: a leaf keeps its hooks in its own ``_hooks`` slot, a computed tensor
# in its node's (unset until the first hook: no cost for the others), so that they go with
# it. The engine looks for them only once some hook was ever registered in the process.
_hooks_in_use = [False]


class RemovableHandle:
    """What ``Tensor.register_hook`` returns: ``handle.remove()`` takes the hook away."""

    __slots__ = ("_owner", "_hook")

    def __init__(self, owner, hook):
        self._owner, self._hook = _weakref(owner), hook

    def remove(self) -> None:
        owner = self._owner()
        hooks = None if owner is None else getattr(owner, "_hooks", None)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)


def register_hook(tensor, hook):
    """Call ``hook(grad)`` each time the gradient of ``tensor`` is computed (``grad``: a
    Tensor); a returned Tensor replaces the gradient, as PyTorch's ``register_hook``."""
    if not tensor._rg:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                           "require gradient")
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {_describe(hook)}")
    owner = tensor.grad_fn or tensor
    hooks = getattr(owner, "_hooks", None)
    if hooks is None:
        hooks = owner._hooks = []
    hooks.append(hook)
    _hooks_in_use[0] = True
    return RemovableHandle(owner, hook)


def _deliver_held(held, plain, shared, capture, create_graph):
    """The leaves with hooks: each one's summed gradient through its hooks, then on."""
    for leaf, g in held.items():
        _to_leaf(leaf, _run_hooks(leaf, g, create_graph), plain, shared, capture, create_graph)


def _has_hooks(owner):
    return bool(getattr(owner, "_hooks", None))


def _hold(held, leaf, g):
    """``held`` (None or a dict) with ``g`` added to what ``leaf`` has received."""
    if held is None:
        return {leaf: g}
    previous = held.get(leaf)
    held[leaf] = g if previous is None else previous + g
    return held


def _run_hooks(owner, g, create_graph):
    """``g`` (an array, or a Tensor under create_graph) through the hooks of ``owner`` (a
    leaf or a node), in the order they were registered. Without create_graph each hook
    gets a copy, outside grad mode, as in PyTorch (a hook that writes into its argument
    or keeps it must not change another gradient)."""
    hooks = getattr(owner, "_hooks", None)
    if not hooks:
        return g
    for hook in list(hooks):
        if create_graph:
            value = g
            out = hook(value)
        else:
            value = Tensor._make(g.copy(), None, False, [0])
            with no_grad():
                out = hook(value)
        if out is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(out, Tensor):
            raise TypeError(f"hook '{name}' returned {_describe(out)}: expected a Tensor "
                            "or None")
        if tuple(out.shape) != tuple(value.shape):
            raise RuntimeError(f"hook '{name}' has changed the size of value: "
                               f"{tuple(value.shape)} -> {tuple(out.shape)}")
        if out.dtype != value.dtype or out.device != value.device:
            raise RuntimeError(f"hook '{name}' has changed the type of value: {value.dtype} "
                               f"-> {out.dtype} on {out.device}")
        g = out if create_graph else out.data
    return g


def retain_grad(tensor):
    """Make a non-leaf tensor keep its ``.grad`` after backward (PyTorch's ``retain_grad``)."""
    if tensor.grad_fn is None:
        return  # leaves keep their grad anyway
    tensor.grad_fn.retained = _weakref(tensor)
