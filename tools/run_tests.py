"""Run the notebooks as the test suite, the way `nbdev_test` does, and count the result.

`nbdev_test` prints only "Success." or the failed notebooks. This runs the same thing (nbdev's own
`test_nb` over nbdev's notebook list, with `tst_flags` from settings.ini skipped and `--flags`
forced), prints one line per notebook with its time, and ends with `N passed, N failed`. Each
notebook runs in a fresh process of its own, so no notebook can leave state (a registered tag, a
global torch setting) behind for the next.
"""
import argparse, os, sys, time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--path', default=None, help='a notebook or glob (default: every notebook in nbs/)')
    ap.add_argument('--flags', default='', help='space separated test flags to run, e.g. "slow"')
    ap.add_argument('--n_workers', type=int, default=None, help='parallel notebooks (default: cores)')
    args = ap.parse_args()

    # Several notebooks at once on few cores: one thread each, unless the caller chose otherwise.
    n_workers = args.n_workers if args.n_workers is not None else min(os.cpu_count() or 1, 8)
    if n_workers > 1: os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')

    from concurrent.futures import ProcessPoolExecutor
    from functools import partial
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    from nbdev.test import test_nb, _keep_file

    cfg = get_config()
    if args.path and any(ch in args.path for ch in '*?['):  # a glob such as 'nbs/0[45]*.ipynb'
        files = sorted(p for p in Path().glob(args.path) if p.suffix == '.ipynb')
    else: files = nbglob(args.path or cfg.nbs_path, as_path=True)
    files = [f.absolute() for f in sorted(files) if _keep_file(f, '.notest')]
    if not files: sys.exit(f'no notebooks matched {args.path or cfg.nbs_path}')
    skip, force = cfg.tst_flags.split(), args.flags.split()
    print(f'testing {len(files)} notebooks with {n_workers} workers; skipping cells flagged '
          f'{[f for f in skip if f not in force]}', flush=True)

    start = time.time()
    with working_directory(cfg.nbs_path):
        run = partial(test_nb, skip_flags=skip, force_flags=force, basepath=cfg.config_path)
        with ProcessPoolExecutor(max_workers=max(1, min(n_workers, len(files))), max_tasks_per_child=1) as pool:
            results = list(pool.map(run, files))
    passed = 0
    for f, (ok, secs) in zip(files, results):
        passed += bool(ok)
        print(f"{'PASS' if ok else 'FAIL'}  {f.relative_to(cfg.config_path)}  ({secs:.0f}s)")
    failed = len(files) - passed
    print(f'total time {time.time()-start:.0f}s')
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
