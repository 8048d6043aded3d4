"""Render BENCHMARKS.md, bench/results.json and the plots from whatever job results exist.

The words are in the templates: bench/BENCHMARKS.md.j2 (the page) and bench/why.md.j2 (why each missed target was
missed, one macro per explanation id of `figures.TARGETS`). What earlier runs found, which results.json does not hold,
is in bench/notes.yaml, keyed by target id. This module only turns the results into the values the templates show."""
from __future__ import annotations
import json, re, statistics, subprocess, time
from pathlib import Path
import jinja2, jinja2.ext, yaml
from common import BENCH, ROOT, machine, write_json
from figures import ANCHORS, ablation_runs, PHRASE_STUDENTS, TARGETS, collect, phrase_runs, stat, students, targets, teacher_of, tutorial
from plots import plots

TEMPLATE, NOTES = 'BENCHMARKS.md.j2', BENCH / 'notes.yaml'


def _git(*args) -> str:
    try: return subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError: return ''


# ------------------------------------------------------------------ the templates' filters
def _n(x, d=1, unit='') -> str: return 'not run' if x is None else f'{x:,.{d}f}{unit}'


def _secs(s) -> str: return 'not run' if s is None else f'{s:.0f} s' if s < 120 else f'{s / 60:.1f} min'


def _plural(k: int, word: str) -> str: return f"{k} {word}{'' if k == 1 else 's'}"


def _runs(rs: list[dict]) -> str: return ', '.join(f"{r['dev_acc']:.1f} (seed {r['seed']})" for r in rs) or 'not run'


def _stat(mean_std_n: tuple, digits=1) -> str:
    "A `figures.stat` triple as 'mean ± std (n=3)', 'mean (1 seed)' or 'not run'."
    m, s, n = mean_std_n
    if m is None: return 'not run'
    txt = f'{m:.{digits}f}' + (f' ± {s:.{digits}f}' if s is not None else '')
    return txt + (f' (n={n})' if n is not None and n > 1 else ' (1 seed)' if n == 1 else '')


class _Continue(jinja2.ext.Extension):
    "A template line ending in a backslash goes on with the next one (its indent dropped): long Markdown lines stay readable."
    def preprocess(self, source, name, filename=None): return re.sub(r'\\\n[ \t]*', '', source)


def environment() -> jinja2.Environment:
    "The templates of bench/, with the filters `n`, `secs`, `plural`, `runs`, `stat` and `fm` (Python's `format`)."
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(BENCH), extensions=[_Continue], trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(n=_n, secs=_secs, plural=_plural, runs=_runs, stat=_stat, fm=format)
    return env


# ------------------------------------------------------------------ values for the templates
def _student_row(res: dict, label: str, sel: dict, **extra) -> dict:
    "One row of a student table: the runs of the setting `sel`, their dev statistics and mean test accuracy."
    rs = students(res, **sel)
    return dict(label=label, runs=rs, dev=stat([r['dev_acc'] for r in rs]), test=stat([r['test_acc'] for r in rs])[0],
                params=rs[0]['params'] if rs else None, **extra)


def _accuracy_rows(cfg, res, f) -> list[dict]:
    "The SRU and LSTM students of section 1, the best α, T marked."
    sel = [('SRU student, labels only', {}), ('SRU student, distilled, α=0.5 T=1 (tutorial)', tutorial(cfg))]
    sel += [(f'SRU student, distilled, α={a:g} T={T:g} (search)', dict(alpha=a, temperature=T)) for a, T in cfg['search']]
    sel.append(('LSTM student, labels only', dict(rnn='lstm')))
    best = (f.get('student_best_alpha'), f.get('student_best_temperature'))
    return [_student_row(res, label, kw, best=kw.get('alpha') is not None and (kw['alpha'], kw['temperature']) == best) for label, kw in sel]


def _phrase_rows(cfg, res) -> list[dict]:
    "The students trained with `phrases=True`: label and first run (None: not run)."
    rows = []
    for k, (sel, label) in PHRASE_STUDENTS.items():
        sl, rs = phrase_runs(cfg, res, k)
        if sl and sel.get('best'):
            label = label.replace('best α, T of the sentences', f"α={sl['alpha']:g} T={sl['temperature']:g} (best on the sentences)")
        rows.append(dict(label=label, run=rs[0] if rs else None))
    return rows


def _phrase_gains(f) -> list[tuple[str, float]]:
    "Dev points each model gained from training with `phrases=True`, where both runs exist."
    same = [('teacher', 'teacher_dev_acc', 'teacher_phrases_dev_acc'), ('labels-only student', 'student_scratch_dev_acc', 'student_phrases_scratch_dev_acc'),
            ('distilled student', 'student_distilled_dev_acc', 'student_phrases_distilled_dev_acc')]
    return [(name, f[b] - f[a]) for name, a, b in same if f.get(a) is not None and f.get(b) is not None]


def _targets(tg: list[dict]) -> list[dict]:
    "The targets' results with their `TARGETS` entry (goal, why, digits, unit)."
    spec = {t['id']: t for t in TARGETS}
    return [{'digits': 1, 'unit': '', **spec[t['id']], **t} for t in tg]


def _noise(ov: dict) -> float | None:
    "How much rounds of the very same loop differed: the largest max/min over the overhead job's rounds."
    spread = [max(v) / min(v) for v in ov.get('seconds', {}).values() if v]
    return max(spread) if spread else None


def context(cfg, res, f, tg, made, img_prefix, not_run, quick, notes) -> dict:
    "Everything the templates read."
    tgs = _targets(tg)
    walls = [r['wall_s'] for r in res.values() if r.get('job') == 'student']
    loads = [x for r in res.values() for x in (r['loadavg_start'][0], r['loadavg_end'][0])]
    n_dev = (res.get('teacher') or {}).get('n_dev') or 872
    p = None if f.get('student_distilled_dev_acc') is None else f['student_distilled_dev_acc'] / 100
    return dict(cfg=cfg, res=res, f=f, made=made, img=img_prefix, not_run=not_run, quick=quick, notes=notes, anchors=ANCHORS,
                targets=tgs, T={t['id']: t for t in tgs}, why=list(dict.fromkeys(t['why'] for t in tgs if t['met'] is False)),
                threads=sorted({r.get('torch_threads') for r in res.values() if r.get('torch_threads')}),
                loads=(min(loads), max(loads)) if loads else None, student_wall=statistics.median(walls) if walls else None,
                teacher=teacher_of(res), accuracy_rows=_accuracy_rows(cfg, res, f),
                std_error=None if p is None else dict(n_dev=n_dev, points=100 * (p * (1 - p) / n_dev) ** 0.5),
                phrase_rows=_phrase_rows(cfg, res), phrase_gains=_phrase_gains(f),
                augment_rows=[_student_row(res, '', dict(tutorial(cfg), augment=a, init=i), augment=a, init=i) for a in (False, True) for i in (False, True)],
                augment_measured=any(v is not None for k, v in f.get('augment_variants_dev_acc', {}).items() if k != 'noaug_noinit'),
                overhead_noise=_noise(res.get('overhead') or {}), ablation_rows=_ablation_rows(res))


def _ablation_rows(res: dict) -> list[dict]:
    "One row per ablation variant, in the order bench/student_jobs.py lists them: its change, mean dev and each seed's run."
    from student_jobs import ABLATIONS
    runs = ablation_runs(res)
    return [dict(variant=v, change=change, dev=statistics.mean(r['dev_acc'] for r in runs[v]),
                 runs=[f"{r['dev_acc']:.1f} (seed {r['seed']})" for r in runs[v]]) for v, (change, _) in ABLATIONS.items() if v in runs]


def markdown(cfg, res, f, tg, made, img_prefix, not_run, quick) -> str:
    notes = yaml.safe_load(NOTES.read_text()) or {}
    return environment().get_template(TEMPLATE).render(context(cfg, res, f, tg, made, img_prefix, not_run, quick, notes))


# ------------------------------------------------------------------ rendering
def render(cfg, work: Path, quick: bool, plan: list, stored: Path | None = None) -> tuple[Path, Path]:
    """Write BENCHMARKS.md, results.json and the plots from the job results in `work`, or with `stored` from the runs of a
    results.json written before (its machine and date kept: they describe the run)."""
    from run import results
    out_dir = work if quick else BENCH
    if stored is None:
        res, here = results(work), machine()
        by = {}
        for k, r in res.items(): by.setdefault(r.get('machine') or here, []).append(k)
        f = {'machine': '; '.join(f"{m} ({len(v)} job{'s' * (len(v) > 1)})" for m, v in by.items()) or here,
             'date': time.strftime('%Y-%m-%d %H:%M %Z')}
    else:
        old = json.loads(stored.read_text())
        res, f = old['runs'], {'machine': old['machine'], 'date': old['date']}
    commits = sorted({r.get('commit') for r in res.values() if r.get('commit')})
    f.update(commit=', '.join(commits) if commits else _git('rev-parse', '--short', 'HEAD'), mode='quick' if quick else 'full')
    f.update(collect(cfg, res))
    tg = targets(f)
    not_run = [name for name, *_ in plan if name not in res]
    f['targets'], f['not_run'] = tg, not_run
    f['settings'] = {k: v for k, v in cfg.items()}
    f['runs'] = res
    made = plots(cfg, res, f, out_dir)
    md_path = (work if quick else ROOT) / 'BENCHMARKS.md'
    md_path.write_text(markdown(cfg, res, f, tg, made, '' if quick else 'bench/', not_run, quick))
    json_path = out_dir / 'results.json'
    write_json(json_path, f)
    return md_path, json_path
