"""G.711 and channel kernels on 20 ms frames: ours, audioop and numpy.

    pytest benchmarks/test_bench_kernels.py --benchmark-columns=median,iqr,ops
"""

GROUPS = ("g711", "channels")


def test_kernel(benchmark, run_subject, subject_key):
    run_subject(benchmark, subject_key)
