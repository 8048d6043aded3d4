"""Run the notebooks as the test suite, the way `nbdev_test` does, and count the result.

`nbdev_test` prints only "Success." or the failed notebooks. This runs the same thing (nbdev's own
`test_nb` over nbdev's notebook list, with `tst_flags` from settings.ini skipped and `--flags`
forced), prints one line per notebook with its time as soon as it finishes, and ends with
`N passed, N failed`. Each notebook runs in a fresh process of its own, so no notebook can leave
state (a registered tag, a global torch setting) behind for the next, and a notebook that runs past
`--timeout` seconds is stopped, with its children, and counted as failed; once the whole run has
taken `--budget` seconds, what still runs is stopped the same way and what has not started is failed
unrun. One hang cannot use up CI's time with nothing printed.
"""
import argparse, os, signal, subprocess, sys, time
from pathlib import Path


def run_one(nb, flags):
    "Test one notebook in this process (the child side); exit 0 when it passed."
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.test import test_nb
    cfg = get_config()
    with working_directory(cfg.nbs_path):
        ok, _ = test_nb(Path(nb), skip_flags=cfg.tst_flags.split(), force_flags=flags.split(),
                        basepath=cfg.config_path)
    sys.exit(0 if ok else 1)


def spawn(nb, flags, timeout, deadline):
    "Test `nb` in a child process of its own session, until `timeout` or the run's `deadline`; return (passed, seconds, output)."
    start = time.time()
    timeout = min(timeout, deadline - start)
    if timeout <= 0: return False, 0.0, 'not started: the run had used its --budget\n'
    cmd = [sys.executable, __file__, '--one', str(nb), '--flags', flags]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode == 0, time.time() - start, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the notebook and whatever it started (servers, workers)
        out, _ = p.communicate()
        why = '--timeout' if time.time() < deadline else "the run's --budget was used up"
        return False, time.time() - start, (out or '') + f'\nstopped: still running after {timeout:.0f}s ({why})\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--path', default=None, help='a notebook or glob (default: every notebook in nbs/)')
    ap.add_argument('--flags', default='', help='space separated test flags to run, e.g. "slow"')
    ap.add_argument('--n_workers', type=int, default=None, help='parallel notebooks (default: cores)')
    ap.add_argument('--timeout', type=float, default=float(os.environ.get('DISTILLNB_TEST_TIMEOUT', 900)),
                    help='seconds one notebook may take before it is stopped and failed '
                         '(default 900, or $DISTILLNB_TEST_TIMEOUT)')
    ap.add_argument('--budget', type=float, default=float(os.environ.get('DISTILLNB_TEST_BUDGET', 3600)),
                    help='seconds the whole run may take (default 3600, or $DISTILLNB_TEST_BUDGET)')
    ap.add_argument('--one', default=None, help=argparse.SUPPRESS)  # the child side of one notebook
    args = ap.parse_args()
    if args.one: return run_one(args.one, args.flags)

    # Several notebooks at once on few cores: one thread each, unless the caller chose otherwise.
    n_workers = args.n_workers if args.n_workers is not None else min(os.cpu_count() or 1, 8)
    if n_workers > 1: os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')

    from concurrent.futures import ThreadPoolExecutor, as_completed
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    from nbdev.test import _keep_file

    cfg = get_config()
    if args.path and any(ch in args.path for ch in '*?['):  # a glob such as 'nbs/0[45]*.ipynb'
        files = sorted(p for p in Path().glob(args.path) if p.suffix == '.ipynb')
    else: files = nbglob(args.path or cfg.nbs_path, as_path=True)
    files = [f.absolute() for f in sorted(files) if _keep_file(f, '.notest')]
    if not files: sys.exit(f'no notebooks matched {args.path or cfg.nbs_path}')
    skip, force = cfg.tst_flags.split(), args.flags.split()
    print(f'testing {len(files)} notebooks with {n_workers} workers; skipping cells flagged '
          f'{[f for f in skip if f not in force]}; at most {args.timeout:.0f}s each, {args.budget:.0f}s in all', flush=True)

    start, passed, failures = time.time(), 0, []
    deadline = start + args.budget
    with ThreadPoolExecutor(max_workers=max(1, min(n_workers, len(files)))) as pool:
        jobs = {pool.submit(spawn, f, args.flags, args.timeout, deadline): f for f in files}
        for job in as_completed(jobs):
            f, (ok, secs, out) = jobs[job], job.result()
            passed += ok
            name = f.relative_to(cfg.config_path)
            if not ok: failures.append((name, out))
            print(f"{'PASS' if ok else 'FAIL'}  {name}  ({secs:.0f}s)", flush=True)
    for name, out in failures:
        print(f'\n---- {name} ----\n{out.rstrip()[-6000:]}', flush=True)
    failed = len(files) - passed
    print(f'total time {time.time()-start:.0f}s')
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
