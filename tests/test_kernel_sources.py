"""The CUDA C sources are the one place a kernel's name, parameters and launch are written down;
everything else is checked against them.

- the parser of minicnn.tuned.gpu.sources, which derives the kernel table from kernels/*.cu;
- the comment block above every kernel (kernel, grid, block, shared, args) — its args are the
  C parameter list;
- the argument tuples the host side (minicnn.tuned.gpu.ops, shared by the cupy and numba_cuda
  backends) really passes, recorded by a launcher that runs nothing: count, order, element
  types, and each argument's value or shape against what the C parameter of that name means;
- the Numba CUDA twins take the C parameters, by name, in the same order;
- kernels/common.cuh has a twin, with the same parameters, of every function of
  minicnn.tuned.index_math.
"""
from __future__ import annotations

import inspect
import itertools
import re

import numpy as np
import pytest

from minicnn.functional.pooling._arguments import sliding_windows
from minicnn.geometry import conv2d_geometry
from minicnn.tuned import index_math
from minicnn.tuned.gpu import ops
from minicnn.tuned.gpu.sources import (
    SOURCE_OF, SOURCES, TILED_SOURCES, Parameter, declared_kernels, kernel_directory, kernel_parameters,
)

KERNELS = kernel_directory()
ALL_KERNELS = sorted(SOURCE_OF)


# ---------------------------------------------------------------------------- the parser
SNIPPET = """
// template <typename T> __global__ void commented_out(const T* x) {}
template <typename T>
__global__ void __launch_bounds__(MINICNN_TILE * MINICNN_TILE)
first(const T * x, T* y,
      int  height, long long *indices) {
    y[0] = x[0];
}
/* template <typename T>
__global__ void in_a_block_comment(int a) {} */
template <typename T>
__global__ void second(T* out, int n) { out[0] = n; }
template __global__ void first<float>(const float*, float*, int, long long*);
"""


def test_the_parser_reads_names_types_and_order_and_skips_comments_and_instantiations():
    kernels = declared_kernels(SNIPPET)
    assert list(kernels) == ["first", "second"]
    assert kernels["first"] == (Parameter("const T*", "x"), Parameter("T*", "y"), Parameter("int", "height"),
                                Parameter("long long*", "indices"))
    assert [p.is_pointer for p in kernels["second"]] == [True, False]


def test_the_parser_refuses_a_kernel_defined_twice_and_an_unreadable_parameter():
    twice = "template <typename T>\n__global__ void k(int a) {}\ntemplate <typename T>\n__global__ void k(int b) {}"
    with pytest.raises(ValueError, match="kernel k is defined twice"):
        declared_kernels(twice)
    with pytest.raises(ValueError, match=r"kernel k: cannot read the parameter 'int' as 'TYPE NAME'"):
        declared_kernels("template <typename T>\n__global__ void k(int) {}")


def test_the_table_holds_every_source_file_and_every_kernel_once():
    assert sorted(SOURCES) == sorted(p.name for p in KERNELS.glob("*.cu"))
    assert all(SOURCES[source] for source in SOURCES), "a .cu file without a kernel"
    assert sorted(SOURCE_OF) == sorted(itertools.chain(*SOURCES.values()))
    assert all(kernel in SOURCES[SOURCE_OF[kernel]] for kernel in SOURCE_OF)
    assert TILED_SOURCES == ("direct_conv.cu",)  # the one file compiled with -DMINICNN_TILE
    assert SOURCES["direct_conv.cu"] == ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight")


def test_asking_for_an_unknown_kernel_names_the_known_ones():
    with pytest.raises(KeyError, match=r"no kernel 'conv3d_forward' in .*kernels/\*\.cu; the kernels are \['avg_pool"):
        kernel_parameters("conv3d_forward")


# ---------------------------------------------------------------------------- the comment blocks
FIELDS = ["kernel", "grid", "block", "shared", "args"]


def _launch_comment(kernel: str) -> dict[str, str]:
    """The fields of the comment block right above ``template <typename T>`` of ``kernel``: from
    its ``// kernel NAME`` line on, ``// FIELD  text`` lines, continued by lines indented past the
    field names."""
    lines = (KERNELS / SOURCE_OF[kernel]).read_text().splitlines()
    starts = [n for n, line in enumerate(lines) if line == "template <typename T>"
              and re.search(rf"\b{kernel}\(", " ".join(lines[n + 1:n + 3]))]
    assert len(starts) == 1, f"{kernel}: no single 'template <typename T>' line declaring it"
    block, n = [], starts[0] - 1
    while n >= 0 and lines[n].startswith("//"):
        block.insert(0, lines[n])
        n -= 1
    starts = [n for n, line in enumerate(block) if line.startswith("// kernel ")]
    assert starts, f"{kernel}: no '// kernel' line in the comment right above it"
    fields: dict[str, str] = {}
    for line in block[starts[-1]:]:
        field = re.match(r"^// (kernel|grid|block|shared|args) +(\S.*)$", line)
        if field:
            fields[field.group(1)] = field.group(2)
        elif re.match(r"^// {6,}\S", line):
            fields[list(fields)[-1]] += " " + line[2:].strip()
        else:
            raise AssertionError(f"{kernel}: {line!r} interrupts the launch comment")
    return fields


@pytest.mark.parametrize("kernel", ALL_KERNELS)
def test_every_kernel_states_its_launch_and_arguments_right_above_it(kernel):
    fields = _launch_comment(kernel)
    assert list(fields) == FIELDS, f"{kernel}: the comment block above it has {list(fields)}"
    assert fields["kernel"] == kernel
    assert fields["args"].split(", ") == [p.name for p in kernel_parameters(kernel)]


# ---------------------------------------------------------------------------- what the host passes
class Recorder:
    """A launcher that runs nothing and keeps (kernel name, arguments) of every launch."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []

    def __call__(self, name, dtype, launch, *arguments):
        self.calls.append((name, arguments))


def _conv_meaning(x_shape, w_shape, geom) -> tuple[dict, dict]:
    """What each C parameter name of the conv and column kernels stands for: sizes, and array shapes."""
    n, c, h, w = x_shape
    c_out, cg, kh, kw = w_shape
    oh, ow = geom.output_size
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    top, _, left, _ = geom.padding
    sizes = dict(batch=n, channels=c, height=h, width=w, out_channels=c_out, group_channels=cg, kh=kh, kw=kw,
                 out_h=oh, out_w=ow, sh=sh, sw=sw, top=top, left=left, dh=dh, dw=dw, groups=geom.groups)
    shapes = dict(x=x_shape, grad_x=x_shape, w=w_shape, grad_w=w_shape, y=(n, c_out, oh, ow),
                  grad_y=(n, c_out, oh, ow), cols=(c * kh * kw * n * oh * ow,))
    return sizes, shapes


def _pool_meaning(shape, windows) -> tuple[dict, dict]:
    n, c, h, w = shape
    oh, ow = windows.output_size
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = windows.kernel, windows.stride, windows.padding, windows.dilation
    sizes = dict(batch=n, channels=c, height=h, width=w, out_h=oh, out_w=ow, kh=kh, kw=kw, sh=sh, sw=sw,
                 ph=ph, pw=pw, dh=dh, dw=dw)
    out = (n, c, oh, ow)
    shapes = dict(x=shape, grad_x=shape, values=out, indices=out, y=out, grad_out=out, divisor=(oh, ow))
    return sizes, shapes


# Geometries chosen so that, across them, any two size parameters of a kernel differ somewhere
# (checked by _assert_distinguishes): swapping two arguments then always changes a value.
CONV_GEOMETRIES = [
    ((2, 6, 20, 21), (4, 3, 3, 5), dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((5, 3, 11, 8), (9, 1, 2, 4), dict(stride=(1, 2), padding=(0, 3), dilation=(3, 2), groups=3)),
    ((1, 4, 9, 13), (6, 2, 4, 2), dict(stride=(3, 1), padding=(2, 0), dilation=(1, 3), groups=2)),
]
POOL_GEOMETRIES = [
    ((2, 3, 20, 21), dict(kernel=(3, 5), stride=(2, 3), padding=(1, 2), dilation=(2, 1))),
    ((4, 1, 9, 12), dict(kernel=(4, 2), stride=(1, 2), padding=(2, 0), dilation=(1, 3))),
    ((1, 5, 13, 7), dict(kernel=(2, 3), stride=(3, 1), padding=(0, 1), dilation=(1, 2))),
]


def _conv_launches(dtype) -> list[tuple[str, tuple, dict, dict]]:
    """(kernel, arguments, sizes, shapes) of every conv and column kernel launch, per geometry."""
    launches = []
    for x_shape, w_shape, kwargs in CONV_GEOMETRIES:
        geom = conv2d_geometry(x_shape, w_shape, None, **kwargs)
        x, w = np.ones(x_shape, dtype), np.ones(w_shape, dtype)
        grad_y = np.ones((x_shape[0], w_shape[0], *geom.output_size), dtype)
        recorder = Recorder()
        kernels = ops.GpuKernels("recorded", recorder)
        conv = ops.TiledDirectConv(kernels)
        conv.forward(x, w, geom)
        conv.backward(grad_y, x, w, geom, True, True)
        columns = ops.GpuColumns(kernels)
        grad_cols = np.ones(columns.im2col(x, geom).shape, dtype)
        columns.col2im(grad_cols, geom, x_shape)
        launches += [(name, arguments, *_conv_meaning(x_shape, w_shape, geom)) for name, arguments in recorder.calls]
    return launches


def _pool_launches(dtype) -> list[tuple[str, tuple, dict, dict]]:
    launches = []
    for shape, kwargs in POOL_GEOMETRIES:
        recorder = Recorder()
        kernels = ops.GpuKernels("recorded", recorder)
        windows = sliding_windows("max_pool2d", shape, kwargs["kernel"], kwargs["stride"], kwargs["padding"],
                                  kwargs["dilation"], False)
        values, indices = ops.GpuMaxPool(kernels).forward(np.ones(shape, dtype), windows)
        ops.GpuMaxPool(kernels).backward(np.ones(values.shape, dtype), np.zeros(values.shape, np.int64), windows)
        launches += [(name, arguments, *_pool_meaning(shape, windows)) for name, arguments in recorder.calls]

        recorder = Recorder()
        kernels = ops.GpuKernels("recorded", recorder)
        windows = sliding_windows("avg_pool2d", shape, kwargs["kernel"], kwargs["stride"], kwargs["padding"], 1, False)
        divisor = np.full(windows.output_size, 4.0, dtype)
        y = ops.GpuAvgPool(kernels).forward(np.ones(shape, dtype), windows, divisor)
        ops.GpuAvgPool(kernels).backward(np.ones(y.shape, dtype), windows, divisor)
        launches += [(name, arguments, *_pool_meaning(shape, windows)) for name, arguments in recorder.calls]
    return launches


def _assert_distinguishes(launches) -> None:
    """Every pair of a kernel's size parameters takes different values in at least one launch."""
    for kernel in {name for name, *_ in launches}:
        names = [p.name for p in kernel_parameters(kernel) if not p.is_pointer]
        runs = [sizes for name, _, sizes, _ in launches if name == kernel]
        for a, b in itertools.combinations(names, 2):
            assert any(run[a] != run[b] for run in runs), f"{kernel}: the test geometries never tell {a} from {b}"


def _check_arguments(kernel: str, arguments: tuple, sizes: dict, shapes: dict, dtype) -> None:
    parameters = kernel_parameters(kernel)
    passed = len(arguments)
    assert passed == len(parameters), f"{kernel}: the host passes {passed} arguments, the C kernel takes {len(parameters)}"
    for position, (parameter, argument) in enumerate(zip(parameters, arguments)):
        where = f"{kernel} argument {position} ({parameter.type} {parameter.name})"
        if parameter.is_pointer:
            assert isinstance(argument, np.ndarray), f"{where}: got {type(argument).__name__}, not an array"
            element = "long long" if "long long" in parameter.type else "T"
            assert argument.dtype == (np.int64 if element == "long long" else dtype), f"{where}: {argument.dtype}"
            assert parameter.name in shapes, f"{where}: a parameter name this test does not know"
            want = shapes[parameter.name]
            got = argument.shape if len(want) > 1 else (argument.size,)
            assert got == want, f"{where}: shape {argument.shape}, its name means {want}"
        else:
            assert parameter.type == "int" and isinstance(argument, (int, np.integer)), f"{where}: got {argument!r}"
            assert parameter.name in sizes, f"{where}: a parameter name this test does not know"
            assert argument == sizes[parameter.name], f"{where}: got {argument}, its name means {sizes[parameter.name]}"


@pytest.mark.parametrize("family", ["conv", "pool"])
def test_the_host_passes_every_kernel_its_c_parameters_in_order(family, dtype):
    launches = _conv_launches(dtype) if family == "conv" else _pool_launches(dtype)
    wanted = [k for k in ALL_KERNELS if ("pool" in k) == (family == "pool")]
    assert sorted({name for name, *_ in launches}) == wanted, "a kernel of the sources that the host never launches"
    _assert_distinguishes(launches)
    for kernel, arguments, sizes, shapes in launches:
        _check_arguments(kernel, arguments, sizes, shapes, dtype)


def test_a_swapped_argument_is_caught():
    """The check itself: top and left exchanged in one conv launch must fail it."""
    kernel, arguments, sizes, shapes = next(launch for launch in _conv_launches(np.float64)
                                            if launch[0] == "conv2d_forward")
    names = [p.name for p in kernel_parameters(kernel)]
    swapped = list(arguments)
    a, b = names.index("top"), names.index("left")
    swapped[a], swapped[b] = swapped[b], swapped[a]
    with pytest.raises(AssertionError, match=r"conv2d_forward argument 14 \(int top\): got 2, its name means 1"):
        _check_arguments(kernel, tuple(swapped), sizes, shapes, np.float64)


# ---------------------------------------------------------------------------- the twins
def _python_parameters(kernel) -> list[str]:
    """The parameter names of a numba.cuda.jit kernel (a Dispatcher, or the simulator's stand-in)."""
    function = getattr(kernel, "py_func", None) or kernel.fn
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize("kernel", [k for k in ALL_KERNELS if SOURCE_OF[k] != "im2col.cu"])
def test_the_numba_cuda_twin_takes_the_c_parameters_by_name_in_order(kernel):
    pytest.importorskip("numba")
    from minicnn.tuned.numba_cuda import kernels as twins

    namespace = twins.conv_kernels(np.dtype(np.float64), 3, 8) if kernel.startswith("conv2d_") else twins
    assert _python_parameters(getattr(namespace, kernel)) == [p.name for p in kernel_parameters(kernel)]


def _device_functions(code: str) -> dict[str, list[str]]:
    """Name -> parameter names of every ``__device__ __forceinline__`` function in ``code``."""
    functions = {}
    for name, parameters in re.findall(r"__device__\s+__forceinline__\s+\w+\s+(\w+)\s*\(([^()]*)\)", code):
        functions[name] = [p.split()[-1] for p in parameters.split(",") if p.strip()]
    return functions


@pytest.mark.parametrize("function", index_math.SHARED, ids=lambda f: f.__name__)
def test_common_cuh_spells_every_shared_index_function_with_the_same_parameters(function):
    device = _device_functions((KERNELS / "common.cuh").read_text())
    assert function.__name__ in device, f"kernels/common.cuh has no {function.__name__}"
    assert device[function.__name__] == list(inspect.signature(function).parameters)
