"""The three comparison workloads through joblib.Memory, printed as
'name seconds' lines: a small hit, keying a 64 MiB float64 array, and a hit
whose result is a 64 MiB float64 array, read or (mmap_mode="r") mapped."""
import sys, tempfile, time
import numpy as np
import joblib

def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)

with tempfile.TemporaryDirectory() as d:
    mem = joblib.Memory(d, verbose=0)

    @mem.cache
    def run_monte_carlo(snr, n_scenes, seed):
        return {"precision": 1.0 / snr, "bias": -1e-5, "n": n_scenes + seed}

    @mem.cache
    def big(n):
        return np.arange(n, dtype=np.float64) * 1.5

    run_monte_carlo(300.0, 1000, 42)
    n = 200
    small = best(lambda: [run_monte_carlo(300.0, 1000, 42) for _ in range(n)], 5) / n
    xs = np.arange(64 << 20 >> 3, dtype=np.float64) * 1.5
    key = best(lambda: joblib.hash(xs), 3)
    big(64 << 20 >> 3)
    hit = best(lambda: big(64 << 20 >> 3), 5)
    mapped = joblib.Memory(d + "/mapped", verbose=0, mmap_mode="r")
    big_mapped = mapped.cache(lambda n: np.arange(n, dtype=np.float64) * 1.5)
    big_mapped(64 << 20 >> 3)
    hit_mapped = best(lambda: big_mapped(64 << 20 >> 3), 5)
    print("small_hit", small)
    print("key_64mib", key)
    print("hit_64mib", hit)
    print("hit_64mib_mapped", hit_mapped)
