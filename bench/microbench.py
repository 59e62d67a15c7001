#!/usr/bin/env python3
"""Core microbenchmarks for flare, side by side with Ray.

The same workloads run against flare and, when it is installed, against Ray.
Each runtime runs in its own subprocess (so the two never share a process);
the parent process collects their JSON results and prints a markdown table
with the ratio flare/ray, oriented so that a ratio > 1 always means flare is
better (for time-like metrics the ratio is ray_time / flare_time).

Usage::

    python bench/microbench.py                  # flare, + Ray if importable
    python bench/microbench.py --impl flare     # flare only
    python bench/microbench.py --quick          # smoke run (< 1 minute)
    python bench/microbench.py --json out.json  # also save raw results
    python bench/microbench.py --only task_sync task_async  # a subset
    # Ray installed in another interpreter (e.g. a separate venv):
    python bench/microbench.py --ray-python /tmp/rayvenv/bin/python

Options ``--flare-python`` / ``--ray-python`` choose the interpreter used for
each runtime's subprocess (default: the interpreter running this script).
To use an uninstalled flare build, put it on ``PYTHONPATH`` (the environment
is passed down to the subprocesses).

Workloads (all timed with ``time.perf_counter`` after a warm-up; each is
repeated several times and the MEDIAN of the repetitions is reported):

====================  ================================================  =======
workload              what is timed                                     unit
====================  ================================================  =======
``put_small``         ``ray.put(0)``                                    ops/s
``put_100mib``        ``ray.put`` of a 100 MiB numpy uint8 array; ref   GB/s
                      dropped each time (1 GB = 1e9 B; ms/put shown)
``get_100mib``        first ``ray.get`` of a ref to a stored 100 MiB    ms/get
                      array (repeated "warm" get of it shown too)
``task_sync``         ``ray.get(f.remote())`` in a loop                 trips/s
``task_async``        batches of 1000 ``f.remote()``, ``ray.get``       tasks/s
``task_objref_args``  as task_async; each task gets an ObjectRef        tasks/s
``actor_sync``        ``ray.get(a.noop.remote())`` in a loop            calls/s
``actor_async``       batches of 1000 ``a.noop.remote()``, ``ray.get``  calls/s
``async_actor_async`` as actor_async, on an actor with ``async def``    calls/s
``generator``         ``for ref in gen.remote(2000): ray.get(ref)``     items/s
``init_first_task``   ``ray.init()`` + first ``ray.get(f.remote())``    s
                      in a fresh process, median of 3 (import and
                      shutdown excluded; import time is in the JSON)
====================  ================================================  =======

New workloads (e.g. actor calls, generators) are added by writing a function
``def bench_xxx(ctx: Context) -> Result`` and registering it in ``WORKLOADS``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Sequence

from bench_procs import kill_tree

IMPLS = ("flare", "ray")
MIB = 1024 * 1024
BIG_BYTES = 100 * MIB
BATCH = 1000


# --------------------------------------------------------------------------
# Benchmark plumbing (runs inside the per-implementation worker process)
# --------------------------------------------------------------------------


@dataclass
class Context:
    """Everything a workload needs: the runtime module and run parameters."""

    ray: ModuleType
    impl: str
    quick: bool
    num_cpus: int
    python: str
    remotes: Dict[str, Any] = field(default_factory=dict)

    def n(self, full: int, quick: int) -> int:
        """Pick an iteration count depending on ``--quick``."""
        return quick if self.quick else full


@dataclass
class Result:
    """Outcome of one workload: a median value plus the raw samples."""

    value: float
    samples: List[float]
    extra: Dict[str, float] = field(default_factory=dict)


TargetCheck = Callable[[Optional[float], Optional[float]], Optional[bool]]


@dataclass(frozen=True)
class Workload:
    """A registered workload.

    ``higher_is_better`` orients the ratio; ``needs_runtime`` is False for
    workloads that start their own runtime (they run after shutdown);
    ``target`` is a human-readable goal and ``check`` tests it, given the
    flare value and the flare/ray ratio (either may be None); it returns
    None when the target cannot be judged.
    """

    func: Callable[[Context], Result]
    unit: str
    higher_is_better: bool
    needs_runtime: bool = True
    target: str = ""
    check: Optional[TargetCheck] = None


def _median_result(samples: List[float], **extra: float) -> Result:
    return Result(value=statistics.median(samples), samples=samples,
                  extra=dict(extra))


def _rate_trials(trials: int, ops_per_trial: int,
                 body: Callable[[], None]) -> List[float]:
    """Run ``body`` (which performs ``ops_per_trial`` ops) and return ops/s."""
    rates = []
    for _ in range(trials):
        start = time.perf_counter()
        body()
        rates.append(ops_per_trial / (time.perf_counter() - start))
    return rates


# Plain functions turned into remote functions once the runtime is imported.
def _noop() -> int:
    return 0


def _identity(x: Any) -> Any:
    return x


class _Actor:
    def noop(self) -> None:
        return None


class _AsyncActor:
    async def noop(self) -> None:
        return None


def _count(n: int):
    for i in range(n):
        yield i


def _make_remotes(ray: ModuleType) -> Dict[str, Any]:
    return {"noop": ray.remote(_noop), "identity": ray.remote(_identity),
            "actor": ray.remote(_Actor), "async_actor": ray.remote(_AsyncActor),
            "generator": ray.remote(num_returns="streaming")(_count)}


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------


def bench_put_small(ctx: Context) -> Result:
    ray = ctx.ray
    ops = ctx.n(10_000, 2_000)
    for _ in range(1_000):
        ray.put(0)

    def body() -> None:
        for _ in range(ops):
            ray.put(0)

    return _median_result(_rate_trials(ctx.n(5, 3), ops, body))


def bench_put_100mib(ctx: Context) -> Result:
    """Back-to-back puts, dropping each ref at once (no pause between).

    Whether a put lands on already-touched store pages (fast) or fresh ones
    (page faults) depends on how quickly the previous object is freed, so
    the samples can be bimodal; the best time is reported as an extra.
    """
    import numpy as np

    ray = ctx.ray
    arr = np.random.randint(0, 255, size=BIG_BYTES, dtype=np.uint8)
    for _ in range(3):
        ref = ray.put(arr)
        del ref
    times = []
    for _ in range(ctx.n(20, 5)):
        start = time.perf_counter()
        ref = ray.put(arr)
        times.append(time.perf_counter() - start)
        del ref
    med = statistics.median(times)
    return Result(value=BIG_BYTES / med / 1e9,
                  samples=[BIG_BYTES / t / 1e9 for t in times],
                  extra={"ms_per_put": med * 1e3,
                         "best_ms_per_put": min(times) * 1e3})


def bench_get_100mib(ctx: Context) -> Result:
    """First ``ray.get`` of a freshly put 100 MiB array (the put is untimed).

    Repeated gets of one ref may be served from a per-process cache, so the
    headline is the first get of each ref; the repeated ("warm") get time is
    reported as an extra.
    """
    import numpy as np

    ray = ctx.ray
    arr = np.random.randint(0, 255, size=BIG_BYTES, dtype=np.uint8)
    for _ in range(2):
        out = ray.get(ray.put(arr))
        assert out.nbytes == BIG_BYTES
        del out
    first, warm = [], []
    for _ in range(ctx.n(15, 5)):
        ref = ray.put(arr)
        start = time.perf_counter()
        out = ray.get(ref)
        first.append((time.perf_counter() - start) * 1e3)
        del out
        start = time.perf_counter()
        out = ray.get(ref)
        warm.append((time.perf_counter() - start) * 1e3)
        del out, ref
    return _median_result(first, warm_ms=statistics.median(warm))


def bench_task_sync(ctx: Context) -> Result:
    ray, f = ctx.ray, ctx.remotes["noop"]
    for _ in range(100):
        ray.get(f.remote())
    ops = ctx.n(1_000, 200)

    def body() -> None:
        for _ in range(ops):
            ray.get(f.remote())

    return _median_result(_rate_trials(ctx.n(5, 3), ops, body))


def bench_task_async(ctx: Context) -> Result:
    ray, f = ctx.ray, ctx.remotes["noop"]
    batches = ctx.n(3, 1)
    ray.get([f.remote() for _ in range(BATCH)])

    def body() -> None:
        for _ in range(batches):
            ray.get([f.remote() for _ in range(BATCH)])

    return _median_result(_rate_trials(ctx.n(5, 3), batches * BATCH, body))


def bench_task_objref_args(ctx: Context) -> Result:
    ray, f = ctx.ray, ctx.remotes["identity"]
    arg = ray.put(list(range(16)))
    batches = ctx.n(3, 1)
    assert ray.get(f.remote(arg)) == list(range(16))
    ray.get([f.remote(arg) for _ in range(BATCH)])

    def body() -> None:
        for _ in range(batches):
            ray.get([f.remote(arg) for _ in range(BATCH)])

    return _median_result(_rate_trials(ctx.n(5, 3), batches * BATCH, body))


def _actor_sync(ctx: Context, kind: str) -> Result:
    ray = ctx.ray
    actor = ctx.remotes[kind].remote()
    for _ in range(100):
        ray.get(actor.noop.remote())
    ops = ctx.n(1_000, 200)

    def body() -> None:
        for _ in range(ops):
            ray.get(actor.noop.remote())

    result = _median_result(_rate_trials(ctx.n(5, 3), ops, body))
    ray.kill(actor)
    return result


def _actor_async(ctx: Context, kind: str) -> Result:
    ray = ctx.ray
    actor = ctx.remotes[kind].remote()
    batches = ctx.n(3, 1)
    ray.get([actor.noop.remote() for _ in range(BATCH)])

    def body() -> None:
        for _ in range(batches):
            ray.get([actor.noop.remote() for _ in range(BATCH)])

    result = _median_result(_rate_trials(ctx.n(5, 3), batches * BATCH, body))
    ray.kill(actor)
    return result


def bench_actor_sync(ctx: Context) -> Result:
    return _actor_sync(ctx, "actor")


def bench_actor_async(ctx: Context) -> Result:
    return _actor_async(ctx, "actor")


def bench_async_actor_async(ctx: Context) -> Result:
    return _actor_async(ctx, "async_actor")


def bench_generator(ctx: Context) -> Result:
    """Small yields consumed as they come: ``for ref in gen.remote(n): get(ref)``."""
    ray, gen = ctx.ray, ctx.remotes["generator"]
    items = ctx.n(2_000, 500)
    assert [ray.get(ref) for ref in gen.remote(10)] == list(range(10))

    def body() -> None:
        for ref in gen.remote(items):
            ray.get(ref)

    return _median_result(_rate_trials(ctx.n(5, 3), items, body))


def bench_init_first_task(ctx: Context) -> Result:
    """Median of 3 fresh-process ``init`` + first task round trips."""
    totals, inits, imports = [], [], []
    for _ in range(3):
        probe = _run_probe(ctx.python, ctx.impl, ctx.num_cpus)
        totals.append(probe["total_s"])
        inits.append(probe["init_s"])
        imports.append(probe["import_s"])
    return _median_result(totals, init_s=statistics.median(inits),
                          import_s=statistics.median(imports))


def _ratio_at_least(factor: float) -> TargetCheck:
    """Target on the flare/ray ratio (unknown without both values)."""
    return lambda _value, ratio: None if ratio is None else ratio >= factor


def _value_below(limit: float) -> TargetCheck:
    """Absolute target on flare's own value."""
    return lambda value, _ratio: None if value is None else value < limit


# Registry: name -> workload, in output order.  Workloads that need a running
# runtime share one ray.init() and run first, in this order; the others (which
# start their own runtime) run after ray.shutdown().  To add e.g. actor-call or
# generator rows, write ``bench_xxx(ctx) -> Result`` and add an entry here.
WORKLOADS: Dict[str, Workload] = {
    "put_small": Workload(bench_put_small, "ops/s", True),
    "put_100mib": Workload(bench_put_100mib, "GB/s", True,
                           target=">=2.5x", check=_ratio_at_least(2.5)),
    "get_100mib": Workload(bench_get_100mib, "ms/get", False,
                           target="<1 ms abs",
                           check=_value_below(1.0)),
    "task_sync": Workload(bench_task_sync, "round trips/s", True,
                          target=">=5x", check=_ratio_at_least(5.0)),
    "task_async": Workload(bench_task_async, "tasks/s", True,
                           target=">=5x", check=_ratio_at_least(5.0)),
    "task_objref_args": Workload(bench_task_objref_args, "tasks/s", True),
    "actor_sync": Workload(bench_actor_sync, "calls/s", True,
                           target=">=5x", check=_ratio_at_least(5.0)),
    "actor_async": Workload(bench_actor_async, "calls/s", True,
                            target=">=5x", check=_ratio_at_least(5.0)),
    "async_actor_async": Workload(bench_async_actor_async, "calls/s", True),
    "generator": Workload(bench_generator, "items/s", True),
    "init_first_task": Workload(bench_init_first_task, "s", False,
                                needs_runtime=False,
                                target="<=0.2x time (>=5x)",
                                check=_ratio_at_least(5.0)),
}


# --------------------------------------------------------------------------
# Runtime import / init
# --------------------------------------------------------------------------


def import_runtime(impl: str) -> ModuleType:
    """Import the runtime under test; raise ImportError if unavailable."""
    if impl == "ray":
        # No usage-stats reporting from benchmark runs.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray  # noqa: F401  (import kept local to the worker)

        return ray
    import flare

    return flare


def init_runtime(ray: ModuleType, impl: str, num_cpus: int) -> None:
    """Call ``ray.init`` with generic kwargs plus Ray-only ones for Ray."""
    kwargs: Dict[str, Any] = {"num_cpus": num_cpus, "log_to_driver": False}
    if impl == "ray":
        kwargs["include_dashboard"] = False
    ray.init(**kwargs)


def _runtime_version(ray: ModuleType) -> str:
    return str(getattr(ray, "__version__", "?"))


# --------------------------------------------------------------------------
# Modes: probe (one init+first task), worker (one impl), parent (compare)
# --------------------------------------------------------------------------


def probe_main(impl: str, num_cpus: int) -> int:
    """Fresh-process measurement for ``init_first_task``; prints JSON."""
    t0 = time.perf_counter()
    ray = import_runtime(impl)
    t1 = time.perf_counter()
    init_runtime(ray, impl, num_cpus)
    t2 = time.perf_counter()
    ray.get(ray.remote(_noop).remote())
    t3 = time.perf_counter()
    ray.shutdown()
    print(json.dumps({"import_s": t1 - t0, "init_s": t2 - t1,
                      "first_task_s": t3 - t2, "total_s": t3 - t1}))
    return 0


def _run_probe(python: str, impl: str, num_cpus: int) -> Dict[str, float]:
    cmd = [python, os.path.abspath(__file__), "--probe", "--impl", impl,
           "--num-cpus", str(num_cpus)]
    proc = _run_child(cmd, timeout=180, capture=True, new_session=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"probe failed (rc={proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def worker_main(impl: str, quick: bool, num_cpus: int, out: str,
                only: Optional[Sequence[str]]) -> int:
    """Run all workloads against one runtime; write JSON incrementally."""
    report: Dict[str, Any] = {
        "impl": impl, "status": "ok", "error": None, "version": None,
        "python": sys.executable, "num_cpus": num_cpus, "quick": quick,
        "stat": "median", "results": {},
    }

    def flush() -> None:
        with open(out, "w") as fh:
            json.dump(report, fh, indent=2)

    try:
        ray = import_runtime(impl)
    except ImportError as exc:
        report.update(status="not installed", error=str(exc))
        flush()
        _log(impl, f"not installed: {exc}")
        return 0
    report["version"] = _runtime_version(ray)
    ctx = Context(ray=ray, impl=impl, quick=quick, num_cpus=num_cpus,
                  python=sys.executable)
    names = [n for n in WORKLOADS if not only or n in only]
    flush()

    def run_one(name: str) -> None:
        wl = WORKLOADS[name]
        try:
            res = wl.func(ctx)
            entry: Dict[str, Any] = {"value": res.value,
                                     "samples": res.samples,
                                     "extra": res.extra, "error": None}
            _log(impl, f"{name}: {res.value:.4g} {wl.unit} {res.extra or ''}")
        except Exception as exc:  # keep going with the other workloads
            entry = {"value": None, "error": f"{type(exc).__name__}: {exc}"}
            _log(impl, f"{name}: FAILED\n{traceback.format_exc()}")
        report["results"][name] = entry
        flush()

    in_proc = [n for n in names if WORKLOADS[n].needs_runtime]
    if in_proc:
        try:
            init_runtime(ray, impl, num_cpus)
            ctx.remotes = _make_remotes(ray)
        except Exception as exc:
            report.update(status="error", error=f"init failed: {exc}")
            flush()
            _log(impl, f"init failed\n{traceback.format_exc()}")
            return 1
        try:
            for name in in_proc:
                run_one(name)
        finally:
            ray.shutdown()
    for name in names:
        if not WORKLOADS[name].needs_runtime:
            run_one(name)
    return 0


def _log(impl: str, msg: str) -> None:
    print(f"[{impl}] {msg}", file=sys.stderr, flush=True)


def _run_child(cmd: List[str], timeout: float, capture: bool,
               new_session: bool) -> subprocess.CompletedProcess:
    """Run ``cmd``; on timeout (or Ctrl-C) kill it and what it started."""
    proc = subprocess.Popen(cmd, start_new_session=new_session, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        stdout, stderr = proc.communicate()
        return subprocess.CompletedProcess(cmd, -9, stdout or "",
                                           (stderr or "") + "\nTIMEOUT")
    except KeyboardInterrupt:
        kill_tree(proc.pid)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout or "",
                                       stderr or "")


def run_impl(impl: str, python: str, args: argparse.Namespace
             ) -> Dict[str, Any]:
    """Spawn a worker subprocess for ``impl`` and return its JSON report."""
    fd, tmp = tempfile.mkstemp(prefix=f"microbench-{impl}-", suffix=".json")
    os.close(fd)
    cmd = [python, os.path.abspath(__file__), "--worker", "--impl", impl,
           "--json", tmp, "--num-cpus", str(args.num_cpus)]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", *args.only]
    print(f"== running {impl} with {python}", file=sys.stderr, flush=True)
    try:
        proc = _run_child(cmd, timeout=args.timeout, capture=False,
                          new_session=True)
        try:
            with open(tmp) as fh:
                report = json.load(fh)
        except (OSError, ValueError):
            report = {"impl": impl, "status": "error", "results": {},
                      "error": "worker produced no report"}
        if proc.returncode != 0 and report.get("status") == "ok":
            report["status"] = "error"
            report["error"] = (f"timed out after {args.timeout:.0f}s"
                               if proc.stderr.endswith("TIMEOUT") else
                               f"worker exited with {proc.returncode}")
        return report
    except FileNotFoundError as exc:
        return {"impl": impl, "status": "not installed", "results": {},
                "error": str(exc)}
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _has_module(python: str, module: str) -> bool:
    try:
        return subprocess.run([python, "-c", f"import {module}"],
                              capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# --------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _cell(report: Optional[Dict[str, Any]], name: str) -> str:
    if report is None:
        return "not run"
    if report.get("status") == "not installed":
        return "not installed"
    res = report.get("results", {}).get(name)
    if res is None:
        return "-" if report.get("status") == "ok" else "not reached"
    if res.get("value") is None:
        return "error"
    text = _fmt(res["value"])
    extra = res.get("extra") or {}
    if "ms_per_put" in extra:
        text += (f" ({extra['ms_per_put']:.1f} ms/put, best "
                 f"{extra.get('best_ms_per_put', float('nan')):.1f})")
    if "warm_ms" in extra:
        text += f" (warm {_fmt(extra['warm_ms'])})"
    if "init_s" in extra:
        text += f" (init {extra['init_s']:.2f})"
    return text


def _value(report: Optional[Dict[str, Any]], name: str) -> Optional[float]:
    if not report:
        return None
    return (report.get("results", {}).get(name) or {}).get("value")


def render_table(reports: Dict[str, Optional[Dict[str, Any]]],
                 names: Sequence[str]) -> str:
    """Markdown table of the given workloads for flare and Ray."""
    flare, ray = reports.get("flare"), reports.get("ray")
    lines = ["| workload | unit | flare | ray | flare/ray (>1 = flare better)"
             " | target |",
             "|---|---|---:|---:|---:|---|"]
    for name in names:
        wl = WORKLOADS[name]
        fv, rv = _value(flare, name), _value(ray, name)
        ratio = None
        if fv and rv:
            ratio = fv / rv if wl.higher_is_better else rv / fv
        target = wl.target
        met = wl.check(fv, ratio) if wl.check is not None else None
        if met is not None:
            target += " MET" if met else " MISSED"
        ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
        lines.append(f"| {name} | {wl.unit} | {_cell(flare, name)} | "
                     f"{_cell(ray, name)} | {ratio_text} | {target} |")
    return "\n".join(lines)


def _header(reports: Dict[str, Optional[Dict[str, Any]]],
            args: argparse.Namespace) -> str:
    parts = [f"cpus={os.cpu_count()}", f"num_cpus={args.num_cpus}",
             "quick" if args.quick else "full",
             "values = median of repetitions"]
    for impl, rep in reports.items():
        if rep and rep.get("version"):
            parts.append(f"{impl} {rep['version']}")
    return "microbench: " + ", ".join(parts)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=(*IMPLS, "both"), default="both")
    p.add_argument("--quick", action="store_true",
                   help="small iteration counts (smoke check)")
    p.add_argument("--json", metavar="OUT", help="write raw results as JSON")
    p.add_argument("--ray-python", default=sys.executable,
                   help="interpreter for the Ray subprocess")
    p.add_argument("--flare-python", default=sys.executable,
                   help="interpreter for the flare subprocess")
    p.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    p.add_argument("--only", nargs="+", choices=list(WORKLOADS),
                   help="run only these workloads")
    p.add_argument("--timeout", type=float, default=None,
                   help="per-implementation timeout in seconds")
    # Internal modes used by the parent process.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.timeout is None:
        args.timeout = 300.0 if args.quick else 1200.0
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.probe:
        return probe_main(args.impl, args.num_cpus)
    if args.worker:
        if args.impl == "both" or not args.json:
            sys.exit("--worker needs --impl flare|ray and --json")
        return worker_main(args.impl, args.quick, args.num_cpus, args.json,
                           args.only)

    pythons = {"flare": args.flare_python, "ray": args.ray_python}
    impls = list(IMPLS) if args.impl == "both" else [args.impl]
    reports: Dict[str, Optional[Dict[str, Any]]] = {i: None for i in IMPLS}
    notes = []
    for impl in impls:
        if args.impl == "both" and impl == "ray" and not _has_module(
                pythons["ray"], "ray"):
            notes.append(f"note: `import ray` fails with {pythons['ray']}; "
                         "flare-only table (use --ray-python PATH).")
            reports["ray"] = {"status": "not installed", "results": {}}
            continue
        reports[impl] = run_impl(impl, pythons[impl], args)
    for impl, rep in reports.items():
        if rep and rep.get("status") not in ("ok",) and rep.get("error"):
            notes.append(f"note: {impl}: {rep['status']}: {rep['error']}")
        for name, res in (rep or {}).get("results", {}).items():
            if res.get("error"):
                notes.append(f"note: {impl}/{name} failed: {res['error']}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(reports, fh, indent=2)
    print()
    print(_header(reports, args))
    print()
    print(render_table(reports, [n for n in WORKLOADS
                                 if not args.only or n in args.only]))
    for note in notes:
        print(note)
    failed = any(r and r.get("status") == "error" for r in reports.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
