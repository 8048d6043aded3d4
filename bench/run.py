#!/usr/bin/env python
"""distillnb's benchmarks, side by side on this machine: `python bench/run.py` (from the repo root, with the project venv).

Each job runs in a process of its own (its peak RSS is then its own) and leaves its figures in
bench/.work/<full|quick>/results/<job>.json; a rerun skips finished jobs, those
stored in bench/results.json included (a fresh clone keeps what was measured). At the end (and after
every job) BENCHMARKS.md and bench/results.json are rendered from whatever results exist.

  python bench/run.py                      # everything not yet measured, then render
  python bench/run.py --quick              # tiny slices and one step, for developing (renders under bench/.work/quick)
  python bench/run.py --only speed         # sections: teacher, speed, accuracy, augment, phrases, pipeline, student (comma-separated)
  python bench/run.py --force --only speed # measure again
  python bench/run.py --render             # only rewrite BENCHMARKS.md and bench/results.json from the results in bench/.work/
  python bench/run.py --render-only        # the same from the runs stored in bench/results.json: no job, no bench/.work/ needed
  python bench/run.py --budget-min 50      # start no new job after 50 minutes; the rest is reported as not run
  A second `python bench/run.py` started alongside takes the next job no one has claimed (bench/.work/<mode>/claims/).
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from common import settings, work_dir, write_json, peak_rss_mb, loadavg, quiet, machine, ROOT
import student_jobs

SECTIONS = ('teacher', 'speed', 'accuracy', 'augment', 'phrases', 'pipeline', 'student')


def job_name(kind: str, **kw) -> str:
    if kind != 'student': return kind
    a = 'hard' if kw.get('alpha') is None else f"a{kw['alpha']:g}-T{kw.get('temperature', 1.0):g}"
    extra = ('-aug' if kw.get('augment') else '') + ('-init' if kw.get('init') else '') + ('-phrases' if kw.get('phrases') else '')
    return f"student-{kw.get('rnn', 'sru')}-{a}{extra}-s{kw.get('seed', 0)}"


def results(work: Path) -> dict:
    out = {}
    for p in sorted((work / 'results').glob('*.json')):
        try: out[p.stem] = json.loads(p.read_text())
        except ValueError: pass
    return out


def best_alpha_t(cfg: dict, res: dict):
    "The α, T whose seed-0 student scored best on dev (the tutorial's setting included); None until all have run."
    cands = [tuple(cfg['tutorial_alpha_t']), *map(tuple, cfg['search'])]
    scores = {c: res.get(job_name('student', alpha=c[0], temperature=c[1], seed=cfg['seeds'][0]), {}).get('dev_acc') for c in cands}
    piped = res.get('pipeline', {}).get('students', {}).get('distill')
    if piped and scores[cands[0]] is None: scores[cands[0]] = piped['dev_acc']  # the README run's student is the tutorial's first run
    if any(s is None for s in scores.values()): return None
    return max(cands, key=lambda c: scores[c])


def restore(work: Path, stored: Path) -> list[str]:
    "Write each run stored in `stored` (a results.json) into `work`'s results where that job has none: in a fresh clone a rerun keeps what was measured."
    if not stored.exists(): return []
    (work / 'results').mkdir(parents=True, exist_ok=True)
    runs = json.loads(stored.read_text()).get('runs', {})
    new = [k for k in runs if not (work / 'results' / f'{k}.json').exists()]
    for k in new: write_json(work / 'results' / f'{k}.json', runs[k])
    return new


def plan(cfg: dict, work: Path, res: dict | None = None) -> list[tuple[str, str, str, dict]]:
    "The jobs in the order they run, most wanted first: (name, section, job, kwargs); what is known from `res` (default: `work`'s results)."
    res, seeds = results(work) if res is None else res, cfg['seeds']
    piped = 'pipeline' in res  # the README's run gave one scratch and one tutorial-distilled student already
    # the README's command first: its fine-tuned teacher is the one every student below learns from
    jobs = [('pipeline', 'pipeline', 'pipeline', {})] if (ROOT / 'configs' / 'tutorial-offline.yaml').exists() else []
    jobs += [('teacher', 'teacher', 'teacher', {})]
    jobs += [(k, 'speed', k, {}) for k in ('inference', 'train_speed', 'overhead', 'cache', 'padding')]
    tut = dict(zip(('alpha', 'temperature'), cfg['tutorial_alpha_t']))
    first = [dict(), tut] + [dict(alpha=a, temperature=t) for a, t in cfg['search']]
    jobs += [(job_name('student', seed=seeds[0], **kw), 'accuracy', 'student', dict(seed=seeds[0], **kw)) for kw in first[2 * piped:]]
    jobs.append(('transfer', 'augment', 'transfer', {}))
    for aug, init in ((True, False), (False, True), (True, True)):
        kw = dict(tut, augment=aug, init=init, seed=seeds[0])
        jobs.append((job_name('student', **kw), 'augment', 'student', kw))
    # phrases=True: a teacher and three or four students trained on the sentences and their labelled sub-phrases
    jobs.append(('teacher_phrases', 'phrases', 'teacher_phrases', {}))
    best = best_alpha_t(cfg, res)
    best_kw = [dict(alpha=best[0], temperature=best[1], init=True)] if best and tuple(best) != tuple(cfg['tutorial_alpha_t']) else []
    for kw in (dict(), dict(tut), dict(tut, init=True), *best_kw):
        kw = dict(kw, phrases=True, seed=seeds[0])
        jobs.append((job_name('student', **kw), 'phrases', 'student', kw))
    best = best_alpha_t(cfg, res)
    more = [dict(), tut] + ([dict(alpha=best[0], temperature=best[1])] if best and best != cfg['tutorial_alpha_t'] else [])
    jobs += [(job_name('student', seed=s, **kw), 'accuracy', 'student', dict(seed=s, **kw)) for s in seeds[1:] for kw in more]
    jobs.append((job_name('student', rnn='lstm', seed=seeds[0]), 'accuracy', 'student', dict(rnn='lstm', seed=seeds[0])))
    jobs += [(k, 'student', k, {}) for k in ('student_epoch', 'tutorial_fresh')]  # issue 21's jobs (bench/student_jobs.py)
    jobs += [(f'ablation-{v}-s{s}', 'student', 'ablation', dict(variant=v, seed=s))
             for s in seeds[:1] for v in student_jobs.ABLATIONS]  # more seeds: --kw, or a wider `seeds` slice here
    jobs.append(('best_recipe', 'student', 'best_recipe', {}))  # configs/best-offline.yaml, run as a config
    return jobs


def run_job(name: str, job: str, kw: dict, quick: bool, work: Path) -> bool:
    "Run one job in a child process; its log goes to bench/.work/<mode>/logs/<name>.log."
    cmd = [sys.executable, str(Path(__file__).resolve()), '--job', job, '--name', name, '--kw', json.dumps(kw)] + (['--quick'] if quick else [])
    log = work / 'logs' / f'{name}.log'
    print(f"{time.strftime('%H:%M:%S')} {name} ...", flush=True)
    s = time.perf_counter()
    with open(log, 'w') as f: rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    ok = rc == 0 and (work / 'results' / f'{name}.json').exists()
    tail = '' if ok else ' FAILED: ' + ' | '.join(log.read_text().strip().splitlines()[-3:])
    print(f"{time.strftime('%H:%M:%S')} {name} {'done' if ok else 'failed'} in {time.perf_counter() - s:.0f}s{tail}", flush=True)
    return ok


def child(args):
    "Inside the child process: run the job, add peak RSS, load average and wall time, write the result."
    quiet()
    import torch
    torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '1')))
    import jobs, timing
    cfg, work = settings(args.quick), work_dir(args.quick)
    kw = json.loads(args.kw)
    la0, s = loadavg(), time.perf_counter()
    out = {**jobs.JOBS, **timing.JOBS, **student_jobs.JOBS}[args.job](cfg, work, **kw)
    out.update(job=args.job, kwargs=kw, torch_threads=torch.get_num_threads(), wall_s=time.perf_counter() - s, peak_rss_mb=peak_rss_mb(),
               loadavg_start=la0, loadavg_end=loadavg(), finished=time.strftime('%Y-%m-%d %H:%M:%S'), machine=machine(),
               commit=subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip())
    write_json(work / 'results' / f'{args.name}.json', out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='tiny slices and one step, for developing')
    ap.add_argument('--only', default=None, help=f"comma-separated sections: {', '.join(SECTIONS)}")
    ap.add_argument('--force', action='store_true', help='measure the selected jobs again')
    ap.add_argument('--render', action='store_true', help='only render BENCHMARKS.md and bench/results.json from the results in bench/.work/')
    ap.add_argument('--render-only', action='store_true', help='only render them again from the runs stored in bench/results.json '
                    '(bench/.work/quick/results.json with --quick): no job runs')
    ap.add_argument('--budget-min', type=float, default=None, help='start no new job after this many minutes')
    ap.add_argument('--threads', type=int, default=1, help='torch threads of every job (the inference section also measures all cores); '
                    '1 by default: on a shared machine two threads that wait on each other run slower than one')
    ap.add_argument('--job'); ap.add_argument('--name'); ap.add_argument('--kw', default='{}')
    args = ap.parse_args()
    if args.job: return child(args)
    cfg, work = settings(args.quick), work_dir(args.quick)
    os.environ['BENCH_THREADS'] = str(args.threads)
    only = set(args.only.split(',')) if args.only else set(SECTIONS)
    if only - set(SECTIONS): ap.error(f"unknown section(s) {sorted(only - set(SECTIONS))}: use {', '.join(SECTIONS)}")
    import render
    if args.render_only:
        stored = (work if args.quick else BENCH) / 'results.json'
        if not stored.exists(): ap.error(f"{stored} does not exist: run the benchmark first")
        out = render.render(cfg, work, args.quick, plan(cfg, work, json.loads(stored.read_text())['runs']), stored=stored)
        return print(f"wrote {out[0]} and {out[1]} from the runs stored in {stored}")
    start, done_now, skipped = time.perf_counter(), set(), []
    if kept := restore(work, (work if args.quick else BENCH) / 'results.json'):
        print(f"kept {len(kept)} job(s) measured before, from {'bench/.work/quick' if args.quick else 'bench'}/results.json")
    if not args.render:
        claims = work / 'claims'; claims.mkdir(exist_ok=True)
        while True:  # the plan is recomputed after each job: which α, T is best is known only once they have run
            todo = [j for j in plan(cfg, work) if j[1] in only and j[0] not in done_now
                    and (args.force or not (work / 'results' / f'{j[0]}.json').exists())]
            free = [j for j in todo if not (claims / j[0]).exists()]  # another `run.py` may be running a job: leave it
            if not free:
                if todo and any((claims / j[0]).exists() for j in todo) and not args.force: time.sleep(15); continue
                break
            name, section, job, kw = free[0]
            if args.budget_min is not None and time.perf_counter() - start > 60 * args.budget_min:
                skipped = [t[0] for t in todo]; print(f"budget reached: not run: {', '.join(skipped)}"); break
            if job == 'teacher' and (claims / 'pipeline').exists() and not (work / 'results' / 'pipeline.json').exists():
                time.sleep(15); continue  # it will use the pipeline's teacher
            if job == 'student' and kw.get('alpha') is not None and not (work / 'teacher_outputs.pt').exists():
                if (claims / 'teacher').exists(): time.sleep(15); continue  # the teacher job is running elsewhere
            if job == 'student' and kw.get('phrases') and not (work / 'teacher_outputs_phrases.pt').exists():
                if (claims / 'teacher_phrases').exists(): time.sleep(15); continue
            try: os.close(os.open(claims / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError: continue
            try:
                if args.force: (work / 'results' / f'{name}.json').unlink(missing_ok=True)
                run_job(name, job, kw, args.quick, work); done_now.add(name)
            finally: (claims / name).unlink(missing_ok=True)
            render.render(cfg, work, args.quick, plan(cfg, work))
    out = render.render(cfg, work, args.quick, plan(cfg, work))
    print(f"wrote {out[0]} and {out[1]}")


if __name__ == '__main__':
    main()
