"""The benchmark's figures: which runs make up each row, the values results.json holds, and the targets they are held to."""
from __future__ import annotations
import json, statistics
from pathlib import Path

ANCHORS = [  # published reference points, all on GLUE SST-2 (67k training phrases); from the issue
    ('BERT-base', 'dev', 92.7), ('DistilBERT', 'dev', 91.3), ('MiniLM-L6-H384', 'dev', 91.5),
    ('BiLSTM distilled from BERT, with augmentation (Tang et al. 2019)', 'dev', 88.8),
    ('BiLSTM on hard labels (Tang et al. 2019)', 'dev', 85.4), ('Kim CNN-rand', 'test', 82.7)]


def stat(xs) -> tuple:
    "Mean, standard deviation (None for one value) and count of the values that are not None."
    xs = [x for x in xs if x is not None]
    if not xs: return None, None, 0
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else None), len(xs)


def all_students(res: dict) -> list[dict]:
    "Every student run: the student jobs, and the README run's two students (seed 'pipeline')."
    return [r for r in res.values() if r.get('job') == 'student'] + list(res.get('pipeline', {}).get('students', {}).values())


def students(res: dict, rnn='sru', alpha='hard', temperature=None, augment=False, init=False, phrases=False) -> list[dict]:
    "The student runs of one setting (alpha 'hard': labels only), in seed order."
    out = []
    for r in all_students(res):
        if r['rnn'] != rnn or bool(r['augment']) != augment or bool(r['init']) != init or bool(r.get('phrases')) != phrases: continue
        if alpha == 'hard' and r['alpha'] is not None: continue
        if alpha != 'hard' and (r['alpha'] != alpha or r['temperature'] != temperature): continue
        out.append(r)
    return sorted(out, key=lambda r: str(r['seed']))


def teacher_of(res: dict) -> dict | None:
    "The teacher's figures: job `teacher`, else what job `pipeline` measured of the teacher it fine-tuned."
    if res.get('teacher'): return res['teacher']
    p = res.get('pipeline')
    if not p or 'teacher' not in p: return None
    hist = sorted(Path(p['save_dir']).glob('*/finetune/history.json'))
    rates = [r['examples/s'] for r in json.loads(hist[0].read_text()) if r.get('examples/s') is not None] if hist else []
    row = next((r for r in p.get('report_rows', []) if r.get('stage') == 'finetune'), {})
    return {**p['teacher'], 'params': row.get('params'), 'train_examples_per_s': statistics.mean(rates) if rates else None,
            'epochs': len(p['teacher']['curve']) - 1, 'n_train': None, 'source': 'pipeline'}


def tutorial(cfg: dict) -> dict:
    "The `students` filter of the tutorial's α, T."
    return dict(alpha=cfg['tutorial_alpha_t'][0], temperature=cfg['tutorial_alpha_t'][1])


PHRASE_STUDENTS = {  # results.json key -> (selection, label); 'tut': the tutorial's α, T; 'best': the best α, T on the sentences
    'student_phrases_scratch': (dict(), 'SRU student, labels only'),
    'student_phrases_distilled': (dict(tut=True), 'SRU student, distilled, α=0.5 T=1'),
    'student_phrases_distilled_init': (dict(tut=True, init=True), 'SRU student, distilled, α=0.5 T=1, teacher-initialised'),
    'student_phrases_best_init': (dict(best=True, init=True), 'SRU student, distilled, best α, T of the sentences, teacher-initialised')}


def selection(cfg: dict, sel: dict, res: dict) -> dict | None:
    "The `students` filter of a PHRASE_STUDENTS selection; None when it names the best α, T before that is known."
    sel = dict(sel)
    if sel.pop('tut', False): sel.update(tutorial(cfg))
    if sel.pop('best', False):
        from run import best_alpha_t
        best = best_alpha_t(cfg, res)
        if best is None: return None
        sel.update(alpha=best[0], temperature=best[1])
    return sel


def phrase_runs(cfg: dict, res: dict, key: str) -> tuple[dict | None, list[dict]]:
    "The `selection` of the PHRASE_STUDENTS row `key` and its runs."
    sl = selection(cfg, PHRASE_STUDENTS[key][0], res)
    return sl, ([] if sl is None else students(res, phrases=True, **sl))


def collect(cfg: dict, res: dict) -> dict:
    "The figures of results.json, computed from the job results; None where a job has not run."
    out, t = {}, teacher_of(res)
    out['teacher_dev_acc'] = t and t['dev_acc']; out['teacher_test_acc'] = t and t['test_acc']
    out['teacher_train_examples_per_s'] = t and t['train_examples_per_s']
    tut = tutorial(cfg)
    groups = {'student_scratch': dict(), 'student_distilled': tut,
              'student_lstm_scratch': dict(rnn='lstm')}
    from run import best_alpha_t
    best = best_alpha_t(cfg, res)
    if best: groups['student_best'] = dict(alpha=best[0], temperature=best[1])
    for k, sel in groups.items():
        rs = students(res, **sel)
        m, s, n = stat([r['dev_acc'] for r in rs])
        out[f'{k}_dev_acc'], out[f'{k}_dev_acc_std'], out[f'{k}_seeds'] = m, s, n
        out[f'{k}_test_acc'] = stat([r['test_acc'] for r in rs])[0]
    out.setdefault('student_best_dev_acc', None)
    out['student_best_alpha'], out['student_best_temperature'] = (best or (None, None))
    aug = {f"{'aug' if a else 'noaug'}_{'init' if i else 'noinit'}": stat([r['dev_acc'] for r in students(res, augment=a, init=i, **tut)])[0]
           for a in (False, True) for i in (False, True)}
    out['augment_variants_dev_acc'] = aug
    out['student_augmented_dev_acc'] = max([v for k, v in aug.items() if k.startswith('aug_') and v is not None], default=None)
    tp = res.get('teacher_phrases')
    out['teacher_phrases_dev_acc'], out['teacher_phrases_test_acc'] = (tp['dev_acc'], tp['test_acc']) if tp else (None, None)
    for k in PHRASE_STUDENTS:
        rs = phrase_runs(cfg, res, k)[1]
        out[f'{k}_dev_acc'], out[f'{k}_test_acc'] = stat([r['dev_acc'] for r in rs])[0], stat([r['test_acc'] for r in rs])[0]
    ph = [k for k in PHRASE_STUDENTS if k != 'student_phrases_scratch' and out[f'{k}_dev_acc'] is not None]
    best_ph = max(ph, key=lambda k: out[f'{k}_dev_acc'], default=None)
    out['student_phrases_best_dev_acc'] = best_ph and out[f'{best_ph}_dev_acc']
    out['student_phrases_best_variant'] = best_ph and PHRASE_STUDENTS[best_ph][1]
    inf = res.get('inference')
    if inf:
        M = inf['models']
        for k in ('teacher', 'sru', 'lstm'):
            out[f'{k}_examples_per_s_b32'] = M[k]['examples_per_s_b32']; out[f'{k}_latency_b1_ms'] = 1000 * M[k]['latency_b1_s']
            out[f'{k}_params'] = M[k]['params']
        out['student_over_teacher_throughput_b32'] = M['sru']['examples_per_s_b32'] / M['teacher']['examples_per_s_b32']
        out['student_over_teacher_latency_b1'] = M['teacher']['latency_b1_s'] / M['sru']['latency_b1_s']
        out['lstm_over_teacher_throughput_b32'] = M['lstm']['examples_per_s_b32'] / M['teacher']['examples_per_s_b32']
        out['lstm_over_teacher_latency_b1'] = M['teacher']['latency_b1_s'] / M['lstm']['latency_b1_s']
        if 'one_thread' in M['sru']:
            o = {k: M[k]['one_thread'] for k in M}
            out['student_over_teacher_throughput_b32_one_thread'] = o['sru']['examples_per_s_b32'] / o['teacher']['examples_per_s_b32']
            out['student_over_teacher_latency_b1_one_thread'] = o['teacher']['latency_b1_s'] / o['sru']['latency_b1_s']
    else:
        for k in ('student_over_teacher_throughput_b32', 'student_over_teacher_latency_b1'): out[k] = None
    ts = res.get('train_speed')
    out['sru_train_examples_per_s'] = ts and ts['sru']; out['lstm_train_examples_per_s'] = ts and ts['lstm']
    out['sru_over_lstm_train_speed'] = ts and ts['sru_over_lstm']
    ov = res.get('overhead')
    out['trainer_overhead_ratio'] = ov and ov['ratio']
    c = res.get('cache')
    out['distill_cache_speedup'] = c and c['speedup_per_epoch']
    if c:
        out['distill_epoch_uncached_s'], out['distill_epoch_cached_s'] = c['uncached']['epoch_s'], c['cached']['epoch_s']
        out['teacher_cache_fill_s'] = c['cached']['fill_s']
        out[f"distill_cache_speedup_{c['epochs']}_epochs"] = c[f"speedup_{c['epochs']}_epochs"]
    p = res.get('padding')
    if p:
        for mode, r in p['modes'].items():
            out[f'padding_{mode}_train_tokens'] = r['train_tokens']; out[f'padding_{mode}_share'] = r['padding_share']
            out[f'padding_{mode}_teacher_dev_s'] = r['teacher_dev_s']; out[f'padding_{mode}_student_train_s'] = r['student_train_s']
    pl = res.get('pipeline')
    out['pipeline_wall_s'] = pl and pl['wall_s']
    if res.get('deploy'):  # bench/deploy.py's keys
        out.update(res['deploy']['figures']); out['int8_dev_acc_abs_delta'] = abs(out['int8_dev_acc_delta'])
    out.update(student_figures(res))
    out['peak_rss_mb'] = {k: round(r['peak_rss_mb'], 1) for k, r in res.items()}
    out['loadavg'] = {k: {'start': r['loadavg_start'], 'end': r['loadavg_end']} for k, r in res.items()}
    return out


def ablation_runs(res: dict) -> dict:
    "The ablation's runs by variant, each variant's in seed order."
    out = {}
    for r in sorted((r for r in res.values() if r.get('job') == 'ablation'), key=lambda r: r['seed']):
        out.setdefault(r['variant'], []).append(r)
    return out


def student_figures(res: dict) -> dict:
    "Issue 21's keys: the main command on a fresh clone, the sparse table's epoch speed-up, the best recipe, the ablation."
    tf, ep, best = res.get('tutorial_fresh') or {}, res.get('student_epoch') or {}, res.get('best_recipe') or {}
    abl = {v: [r['dev_acc'] for r in rs] for v, rs in ablation_runs(res).items()}
    return {'tutorial_wall_s': tf.get('wall_s'), 'tutorial_setup_s': tf.get('setup_s'),
            'tutorial_teacher_dev_acc': tf.get('teacher_dev_acc'), 'tutorial_student_dev_acc': tf.get('student_dev_acc'),
            'tutorial_scratch_dev_acc': tf.get('scratch_dev_acc'),
            'student_epoch_speedup': ep.get('speedup'),
            'best_teacher_dev_acc': best.get('teacher_dev_acc'), 'best_student_dev_acc': best.get('student_dev_acc'),
            'best_recipe_wall_s': best.get('wall_s'),
            'ablation_dev_acc': {k: stat(v)[0] for k, v in sorted(abl.items())}}


# Each target: an `id` (what explanations in bench/why.md.j2 and notes in bench/notes.yaml are keyed by), the figure it reads,
# and its goal: `key` at least (`>=`) or at most (`<=`) `goal`; with `behind`, the gap `f[behind] - f[key]` at most `goal`.
# `why`: the id of the paragraph of bench/why.md.j2 that explains it when missed; `digits`, `unit`: how its value is shown.
TARGETS = [
    dict(id='teacher_dev', key='teacher_dev_acc', op='>=', goal=90, desc='teacher dev ≥ 90', why='teacher_dev'),
    dict(id='student_dev', key='student_distilled_dev_acc', op='>=', goal=88, desc='distilled student dev ≥ 88', why='student'),
    dict(id='student_gap', key='student_distilled_dev_acc', behind='teacher_dev_acc', op='<=', goal=2,
         desc='distilled student within 2 points of its teacher', why='student'),
    dict(id='throughput', key='student_over_teacher_throughput_b32', op='>=', goal=20, unit='×',
         desc='student throughput ≥ 20× the teacher at batch 32', why='throughput'),
    dict(id='overhead', key='trainer_overhead_ratio', op='<=', goal=1.05, digits=2, desc='Trainer overhead ≤ 1.05', why='overhead'),
    dict(id='cache', key='distill_cache_speedup', op='>=', goal=1.8, unit='×', desc='cached distillation ≥ 1.8× faster', why='cache'),
    dict(id='phrases_teacher_dev', key='teacher_phrases_dev_acc', op='>=', goal=90, desc='with `phrases=True`: teacher dev ≥ 90',
         why='teacher_dev'),
    dict(id='phrases_student_dev', key='student_phrases_best_dev_acc', op='>=', goal=88,
         desc='with `phrases=True`: best distilled student dev ≥ 88', why='student'),
    dict(id='phrases_student_gap', key='student_phrases_best_dev_acc', behind='teacher_phrases_dev_acc', op='<=', goal=2,
         desc='with `phrases=True`: best distilled student within 2 points of its teacher', why='student'),
    dict(id='tutorial_wall', key='tutorial_wall_s', op='<=', goal=900, digits=0, unit=' s',
         desc='`make tutorial` on a fresh clone, setup included, ≤ 15 min', why='tutorial'),
    dict(id='tutorial_student_dev', key='tutorial_student_dev_acc', op='>=', goal=85, desc='`make tutorial`: distilled student dev ≥ 85', why='tutorial'),
    dict(id='tutorial_student_gap', key='tutorial_student_dev_acc', behind='tutorial_teacher_dev_acc', op='<=', goal=2,
         desc='`make tutorial`: distilled student within 2 points of that run\'s teacher', why='tutorial'),
    dict(id='student_epoch_speedup', key='student_epoch_speedup', op='>=', goal=2, unit='×',
         desc='a student epoch on the phrases ≥ 2× faster (sparse table)', why='tutorial'),
    dict(id='export_parity', key='export_max_abs_diff_onnx', op='<=', goal=1e-5, digits=7,
         desc='ONNX output within 1e-5 of eager PyTorch on dev', why='deploy_speed'),
    dict(id='int8_delta', key='int8_dev_acc_abs_delta', op='<=', goal=0.5, digits=2, unit=' points',
         desc='int8 changes dev accuracy by at most 0.5 points', why='deploy_speed'),
    dict(id='deploy_b32', key='student_over_teacher_throughput_b32_best', op='>=', goal=20, unit='×',
         desc='student ≥ 20× the teacher at batch 32, each in its fastest runtime', why='deploy_speed'),
    dict(id='deploy_b1', key='student_over_teacher_latency_b1_best', op='>=', goal=30, unit='×',
         desc='student ≥ 30× the teacher at batch 1, each in its fastest runtime', why='deploy_speed'),
    dict(id='service_p99', key='service_p99_ms_c8', op='<=', goal=20, unit=' ms',
         desc='service p99 < 20 ms at concurrency 8', why='deploy_speed'),
    dict(id='best_recipe_wall', key='best_recipe_wall_s', op='<=', goal=3600, digits=0, unit=' s',
         desc='best recipe, run as a config, ≤ 60 min on 2 cores', why='best_recipe'),
    dict(id='best_teacher_dev', key='best_teacher_dev_acc', op='>=', goal=90, desc='best recipe: teacher dev ≥ 90', why='best_recipe'),
    dict(id='best_student_dev', key='best_student_dev_acc', op='>=', goal=89, desc='best recipe: student dev ≥ 89 (3 seeds)', why='best_recipe'),
    dict(id='best_student_gap', key='best_student_dev_acc', behind='best_teacher_dev_acc', op='<=', goal=1.5,
         desc='best recipe: student within 1.5 points of its teacher', why='best_recipe')]


def targets(f: dict) -> list[dict]:
    "Each target of `TARGETS` against the figures `f`: its value (and gap), and whether it was met (None: a figure is missing)."
    out = []
    for t in TARGETS:
        v = f.get(t['key'])
        gap = None if 'behind' not in t or v is None or f.get(t['behind']) is None else f[t['behind']] - v
        x = gap if 'behind' in t else v
        met = None if x is None else bool(x >= t['goal'] if t['op'] == '>=' else x <= t['goal'])
        out.append({'id': t['id'], 'target': t['desc'], 'key': t['key'], 'value': v, 'met': met, **({'gap': gap} if 'behind' in t else {})})
    return out
