"""The benchmark's jobs for a student worth distilling: the sparse table's epoch speed-up, the main command timed on a
fresh clone, and the ablation of the tutorial's distillation stage. Run like the jobs of jobs.py, each in a process of its own."""
from __future__ import annotations
import json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from common import ROOT, load_sst, student_model
from jobs import make_trainer, _torch
from figures import stat


# ------------------------------------------------------------------ section 3: a student epoch, dense table against sparse
def student_epoch(cfg, work: Path) -> dict:
    """One training epoch of the tutorial's student on the 77,625 phrase rows, side by side in this process: the dense
    table with torch's Adam (the tutorial before), then the sparse table with LazyAdam; training examples/s of each."""
    torch = _torch()
    from distillnb.core import seed_everything
    from distillnb.models import Embeddings
    from distillnb.optim import LazyAdam
    _, v = load_sst(cfg, phrases=True)
    for row in v.train: pass  # word pieces computed once, before any timing
    out = {'n_train': len(v.train)}
    for name, sparse, opt_cls in (('dense', False, torch.optim.Adam), ('sparse', True, LazyAdam)):
        seed_everything(0)
        m = student_model(v.text.vocab_size, cfg, embedding=Embeddings(v.text.vocab_size, cfg['embedding_dim'], sparse=sparse))
        tr = make_trainer(v, m, opt_cls(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1, progress=False).fit()
        out[f'{name}_examples_per_s'] = tr.history[-1]['examples/s']
        out[f'{name}_epoch_s'] = len(v.train) / tr.history[-1]['examples/s']
        out[f'{name}_dev_acc_after_epoch'] = 100 * tr.history[-1]['val Accuracy']
    out['speedup'] = out['sparse_examples_per_s'] / out['dense_examples_per_s']
    return out


# ------------------------------------------------------------------ section 4: the main command, timed on a fresh clone
def _stage_metric(results: dict, stage: str) -> float | None:
    m = results['stages'].get(stage, {}).get('metric')
    return None if m is None else 100 * m


def tutorial_fresh(cfg, work: Path) -> dict:
    """`make tutorial` as a newcomer types it: a fresh clone of this commit, a fresh virtual environment, setup included.
    The wall time is the whole command's; the accuracies are its run's (SST-2 dev, 872 sentences)."""
    data = os.environ.get('DISTILLNB_DATA') or str((ROOT.parent / 'shared' / 'data' / 'sst').resolve())
    tmp = Path(tempfile.mkdtemp(prefix='distillnb-fresh-'))
    try:
        subprocess.run(['git', 'clone', '--quiet', str(ROOT), str(tmp / 'distillnb')], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(('DISTILLNB_', 'VIRTUAL_ENV'))}
        env.update(DISTILLNB_DATA=data, DISTILLNB_CACHE=str(tmp / 'cache'), PATH=':'.join(p for p in env.get('PATH', '').split(':') if '.venv' not in p))
        args = [] if cfg['train'] is None else ['TUTORIAL_ARGS=' + cfg['tutorial_quick_args']]
        start = time.perf_counter()
        done = subprocess.run(['make', 'tutorial', *args], cwd=tmp / 'distillnb', env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode: raise RuntimeError(f"make tutorial failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        run = tmp / 'distillnb' / 'runs' / 'tutorial-offline'
        res = json.loads((run / 'results.json').read_text())
        kept = work / 'tutorial_run'  # the run itself, for the ablations' teacher and the tutorial notebook's stored outputs
        shutil.rmtree(kept, ignore_errors=True); kept.mkdir(parents=True); shutil.copytree(run, kept / 'tutorial-offline')
        setup = next((float(l.rsplit(' in ', 1)[1].rstrip('s')) for l in done.stdout.splitlines() if l.startswith('[env] installed')), None)
        return {'wall_s': wall, 'setup_s': setup, 'run_s': res['seconds'], 'stdout_tail': done.stdout.strip().splitlines()[-12:],
                'teacher_dev_acc': _stage_metric(res, 'finetune'), 'student_dev_acc': _stage_metric(res, 'distill'),
                'scratch_dev_acc': _stage_metric(res, 'scratch'),
                'stages': {k: {'seconds': v['seconds'], 'metric': v['metric']} for k, v in res['stages'].items()}}
    finally: shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ the ablation: one change at a time, on the same teacher
TUTORIAL = 'configs/tutorial-offline.yaml'
EMB = 'pipeline.student.embedder.embedding'
ENC = 'pipeline.student.embedder.encoder'
AUG20 = 'pipeline.distill.transfer_data=!AugmentedTransfer {dataset: !@ dataset, n_variants: 20, neighbours_from: !@ finetune.model, seed: 0}'
# every variant starts from the tutorial's distillation stage as it was measured: a constant learning rate, as the
# config had it before it took the `lr_decay` variant's schedule
BASE = ['pipeline.distill.iter_scheduler=null']
ABLATIONS = {  # name -> (what it changes, overrides of the tutorial's config on top of BASE)
    'recipe': ('the tutorial\'s student at a constant learning rate (the config before it took `lr_decay`)', []),
    'no_init': ('random embeddings instead of the teacher\'s', [f'{EMB}=!Embeddings {{num_embeddings: 30522, embedding_dim: 300, sparse: true}}']),
    'T1': ('temperature 1 instead of 4', ['pipeline.distill.temperature=1']),
    'dense': ('a dense table and torch\'s Adam instead of sparse and LazyAdam', [f'{EMB}.sparse=false',
              "pipeline.distill.optimizer=!torch.Adam {params: !@ 'distill[student_model].trainable_params', lr: 0.002}"]),
    'mse': ('MSE on the logits instead of KL', ['pipeline.distill.soft_loss=mse']),
    'soft_ce': ('soft cross-entropy instead of KL', ['pipeline.distill.soft_loss=soft_ce']),
    'sentences': ('the 6,920 sentences instead of the phrases, 5 epochs', ['pipeline.distill.dataset=!@ dataset',
                  'pipeline.distill.epoch_per_step=1', 'pipeline.distill.max_steps=5']),
    'labels_only': ('no teacher: α = 0 (the labels-only student)', ['pipeline.distill.alpha_kl=0']),
    'alpha_linear': ('α from 0.9 down to 0.1 over training', ['pipeline.distill.alpha_kl=!Schedule {kind: linear, start: 0.9, end: 0.1}']),
    'hidden': ('plus sentence-vector matching (MSE, weight 0.1)', ['pipeline.distill.hidden_weight=0.1']),
    'max': ('max pooling over time instead of the last state', [f'{ENC}.pooling=max']),
    'bi': ('a bidirectional SRU, 128 units per direction (the same output width)', [f'{ENC}.bidirectional=true', f'{ENC}.hidden_size=128',
           "pipeline.student.output_layer.input_size=!@ 'student[embedder][encoder].output_size'"]),
    'two_epochs': ('2 epochs of the phrases instead of 1', ['pipeline.distill.max_steps=8']),
    'lr_decay': ('the learning rate decaying linearly to 0 over training', [
        "pipeline.distill.iter_scheduler=!LinearLR {optimizer: !@ 'distill[optimizer]', start_factor: 1.0, end_factor: 0.0, total_iters: 2426}"]),
    'augment20': ('plus 20 augmented variants of each training sentence (137,447 distinct new rows the teacher labels)', [AUG20]),
    'augment20_conf': ('the same, keeping the variants the teacher labels with probability ≥ 0.9', [AUG20, 'pipeline.distill.min_teacher_confidence=0.9']),
}


def ablation(cfg, work: Path, variant: str = 'recipe', seed: int = 0) -> dict:
    """The tutorial's distillation stage again with one change, on the teacher of job tutorial_fresh's run (restored,
    not trained again; its outputs on the training rows read from the cache on disk after the first variant)."""
    from distillnb.experiment import Experiment
    base = work / 'tutorial_run' / 'tutorial-offline'
    if not base.exists(): raise RuntimeError('job tutorial_fresh must run first: its teacher is the one every variant learns from')
    tmp = Path(tempfile.mkdtemp(prefix='distillnb-ablation-'))
    try:
        shutil.copytree(base, tmp / 'tutorial-offline', ignore=shutil.ignore_patterns('distill', 'scratch', 'report', 'student', 'scratch_student'))
        quick = [] if cfg['train'] is None else cfg['tutorial_quick_overrides']
        os.environ.setdefault('DISTILLNB_CACHE', str(work / 'cache'))
        exp = Experiment.from_config(ROOT / TUTORIAL, quick + BASE + ABLATIONS[variant][1] + [f'seed={seed}'], save_path=tmp, resume=True, force=True)
        tr = exp.run_stage('distill')
        test = tr.evaluate(split='test')[str(tr.metric_fn)]
        return {'variant': variant, 'change': ABLATIONS[variant][0], 'seed': seed, 'dev_acc': 100 * tr.best_metric,
                'test_acc': 100 * test, 'teacher_dev_acc': 100 * tr.teacher_scores['Accuracy'], 'best_step': tr.best_step,
                'curve': [100 * r['val Accuracy'] for r in tr.history], 'seconds': sum(r.get('seconds', 0) for r in tr.history)}
    finally: shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ section 4: the best recipe, run as a config
BEST = 'configs/best-offline.yaml'


def _history_value(folder: Path, key: str) -> float | None:
    "The last value of `key` in a trainer's history.json (None when no row has it)."
    vals = [r[key] for r in json.loads((folder / 'history.json').read_text()) if r.get(key) is not None]
    return vals[-1] if vals else None


def best_recipe(cfg, work: Path, config: str = BEST) -> dict:
    """`distillnb run configs/best-offline.yaml` as a user types it, on all cores, with an empty teacher-output cache: its wall
    time, each teacher's dev score, the ensemble's (as the distillation trainer scored it) and each student seed's.
    `config` runs another file the same way (a candidate recipe; its run is kept in `best_run-<file name>`)."""
    tmp = Path(tempfile.mkdtemp(prefix='distillnb-best-'))
    try:
        env = {k: v for k, v in os.environ.items() if k != 'BENCH_THREADS'}
        env['DISTILLNB_CACHE'] = str(tmp / 'cache')
        quick = [] if cfg['train'] is None else [a for o in cfg['best_quick_overrides'] for a in ('--set', o)]
        cmd = [str(Path(sys.executable).with_name('distillnb')), 'run', str(ROOT / config), '--save-path', str(tmp), *quick]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        tag = '' if config == BEST else '-' + Path(config).stem
        (work / 'logs' / f'best_recipe{tag}.run.log').write_text(done.stdout + done.stderr)
        if done.returncode: raise RuntimeError(f"distillnb run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        run = work / f'best_run{tag}'  # the run itself (teachers, students, cache), kept for the tutorial notebook and for later looks
        shutil.rmtree(run, ignore_errors=True); shutil.move(tmp, run); run = next(p for p in run.iterdir() if (p / 'results.json').exists())
        res = json.loads((run / 'results.json').read_text())
        seeds = {k.split('/', 1)[1]: 100 * v['metric'] for k, v in res['stages'].items() if k.startswith('distill/')}
        ens = _history_value(run / 'distill' / next(iter(seeds)), 'val Accuracy (teacher)')  # the same teachers in every variant
        mean, std, _ = stat(seeds.values())
        return {'config': str(config), 'wall_s': wall, 'run_s': res['seconds'], 'teacher_a_dev_acc': _stage_metric(res, 'finetune_a'),
                'teacher_b_dev_acc': _stage_metric(res, 'finetune_b'),
                'teacher_dev_acc': None if ens is None else 100 * ens, 'students_dev_acc': seeds,
                'student_dev_acc': mean, 'student_dev_acc_std': std,
                'stages': {k: {'seconds': v['seconds'], 'metric': v['metric']} for k, v in res['stages'].items()},
                'stdout_tail': done.stdout.strip().splitlines()[-20:]}
    finally: shutil.rmtree(tmp, ignore_errors=True)


JOBS = {f.__name__: f for f in (student_epoch, tutorial_fresh, ablation, best_recipe)}
