"""The benchmark's training jobs (the timing ones are in timing.py). Each runs in a process of its own (see run.py), so its
peak RSS is its own, and returns a dict of figures that run.py stores under bench/.work/<mode>/results/<job>.json."""
from __future__ import annotations
import json, math, statistics, time
from pathlib import Path
from common import ROOT, load_sst, teacher_model, student_model, memo_teacher, _key
from distillnb.core import count_params

ACC = 'Accuracy'


def _torch():
    import torch
    return torch


def samplers(cfg, seed, bucket=None) -> tuple:
    "Training and validation samplers as in configs/tutorial-offline.yaml: batches of 32 (64 to validate), bucketed by length."
    from distillnb.data import BaseSampler
    b = cfg['bucket'] if bucket is None else bucket
    return BaseSampler(cfg['batch_size'], seed=seed, bucket=b), BaseSampler(cfg['val_batch_size'], shuffle=False, bucket=b)


def make_trainer(view, model, opt, cfg, seed, max_steps=None, sampler=None, bucket=None, **kw):
    "A `Trainer` of `model` on `view` with NLL loss, accuracy and the samplers of `samplers` (or `sampler` to train)."
    from distillnb.train import Trainer
    from distillnb.metrics import Accuracy
    torch = _torch()
    train, val = samplers(cfg, seed, bucket)
    return Trainer(view, train if sampler is None else sampler, val,
                   model, torch.nn.NLLLoss(), Accuracy(), opt, max_steps=max_steps or cfg['student_epochs'], seed=seed, **kw)


def _train_rate(tr) -> float:
    "Mean examples/s of the training steps of a finished trainer (validation excluded)."
    rows = [r for r in tr.history if not math.isnan(r.get('examples/s', math.nan))]
    return statistics.mean(r['examples/s'] for r in rows) if rows else math.nan


def _curve(tr) -> list:
    return [{'step': r['step'], 'val_acc': 100 * r[f'val {ACC}'], 'train_loss': r['train loss']} for r in tr.history]


# ------------------------------------------------------------------ teacher
def teacher(cfg, work: Path) -> dict:
    """The fine-tuned MiniLM teacher: scored on dev and test, its weights and its outputs on every sentence stored.

    When job `pipeline` ran, its `finetune` stage's teacher is used (trained once, by the product's own
    config); otherwise the teacher is fine-tuned here with the same settings through the Python API."""
    torch = _torch()
    from distillnb.core import seed_everything
    t0 = time.perf_counter()
    ds, v = load_sst(cfg)
    for split in (v.train, v.val, v.test): list(split)  # word pieces computed once, before any timing
    data_s = time.perf_counter() - t0
    seed_everything(0)
    model = teacher_model(v.label.vocab_size)
    pipe = work / 'results' / 'pipeline.json'
    if pipe.exists() and (work / 'teacher.pt').exists():  # the README's run trained it: history and times from there
        model.load_state_dict(torch.load(work / 'teacher.pt'))
        p = json.loads(pipe.read_text())
        history = [{'step': r['step'], f'val {ACC}': r['val_acc'] / 100, 'train loss': r['train_loss']} for r in p['teacher']['curve']]
        rates = [r['examples_per_s'] for r in p['report_rows'] if r.get('stage') == 'finetune']
        fit_s, source, best_step = p['stages']['finetune']['seconds'], 'pipeline', p['teacher']['best_step']
    else:
        opt = torch.optim.AdamW(model.trainable_params, lr=cfg['teacher_lr'])
        tr = make_trainer(v, model, opt, cfg, 0, max_steps=cfg['teacher_epochs'])
        t1 = time.perf_counter(); tr.fit(); fit_s = time.perf_counter() - t1
        history, source, best_step = tr.history, 'bench (Python API)', tr.best_step
    ev = make_trainer(v, model, torch.optim.SGD(model.trainable_params, lr=0.0), cfg, 0, max_steps=1, progress=False)
    dev, test = ev.evaluate(split='val'), ev.evaluate(split='test')
    torch.save(model.state_dict(), work / 'teacher.pt')
    t2 = time.perf_counter()
    table = label_all(model, [v.train, v.val, v.test], v.text.padding_idx)
    torch.save(table, work / 'teacher_outputs.pt')
    if source != 'pipeline': rates = [r['examples/s'] for r in history if not math.isnan(r.get('examples/s', math.nan))]
    else: rates = _pipeline_train_rates(p)
    return {'dev_acc': 100 * dev[ACC], 'test_acc': 100 * test[ACC], 'best_step': best_step,
            'train_examples_per_s': statistics.mean(rates) if rates else None, 'data_s': data_s, 'fit_s': fit_s,
            'label_s': time.perf_counter() - t2, 'source': source,
            'n_train': len(v.train), 'n_dev': len(v.val), 'n_test': len(v.test), 'params': count_params(model),
            'curve': [{'step': r['step'], 'val_acc': 100 * r[f'val {ACC}'], 'train_loss': r['train loss']} for r in history],
            'epochs': cfg['teacher_epochs'] if source != 'pipeline' else len(history) - 1,
            'train_split': 'sentences'}


def _pipeline_train_rates(p: dict) -> list:
    "The teacher's training examples/s in the pipeline run, from its stage's history.json."
    hist = sorted(Path(p['save_dir']).glob('*/finetune/history.json')) if p.get('save_dir') else []
    if not hist: return []
    rows = json.loads(hist[0].read_text())
    return [r['examples/s'] for r in rows if r.get('examples/s') is not None]


def label_all(model, splits, pad: int, batch_size: int = 64) -> dict:
    "The model's outputs (log-probabilities) on every example of `splits`, keyed by word-piece ids."
    torch = _torch()
    from distillnb.data import BaseSampler
    model.eval(); table = {}
    with torch.inference_mode():
        for split in splits:
            for batch in BaseSampler(batch_size, shuffle=False, bucket=True).sample(split):  # keyed by ids: any order does
                out = model(batch[0]).float()
                for row, o in zip(batch[0], out): table[_key(row, pad)] = o.clone()
    return table


def load_teacher(work: Path, n_classes: int, need_trained: bool = True):
    "The fine-tuned teacher from job `teacher`; without it, the pretrained one with a fresh head (fine for timing)."
    torch = _torch()
    model = teacher_model(n_classes)
    path = work / 'teacher.pt'
    if path.exists(): model.load_state_dict(torch.load(path)); return model, True
    if need_trained: raise FileNotFoundError(f"{path} is missing: run the teacher job first (--only teacher)")
    return model, False


def _outputs(work: Path, phrases: bool = False) -> dict:
    "The stored teacher outputs: of job `teacher` (and `transfer`), or with `phrases` of job `teacher_phrases`."
    torch = _torch()
    path = work / ('teacher_outputs_phrases.pt' if phrases else 'teacher_outputs.pt')
    if not path.exists(): raise FileNotFoundError(f"{path} is missing: run the teacher job first (--only {'phrases' if phrases else 'teacher'})")
    table = torch.load(path)
    extra = work / 'teacher_outputs_transfer.pt'
    if extra.exists() and not phrases: table.update(torch.load(extra))
    return table


# ------------------------------------------------------------------ students
def student(cfg, work: Path, seed: int = 0, rnn: str = 'sru', alpha: float | None = None, temperature: float = 1.0,
            augment: bool = False, init: bool = False, phrases: bool = False) -> dict:
    """Train one student: hard labels only (alpha None) or distilled from the stored teacher outputs; dev and test accuracy.

    With `phrases`, it trains on the sentences and their labelled sub-phrases and distils from the teacher of job
    `teacher_phrases`, validating `cfg['phrases']['checks']` times per epoch."""
    torch = _torch()
    from distillnb.core import seed_everything
    from distillnb.metrics import Accuracy
    from distillnb.distill import DistillationTrainer
    t0 = time.perf_counter()
    ds, v = load_sst(cfg, phrases=phrases)
    for split in (v.train, v.val, v.test): list(split)
    data_s = time.perf_counter() - t0
    seed_everything(seed)
    emb, transfer, n_transfer = None, None, 0
    if init or augment:
        import augment_api
        if init: emb = augment_api.teacher_embeddings(cfg, work, 'teacher_phrases.pt' if phrases else 'teacher.pt')
        if augment: transfer = augment_api.transfer_set(cfg, work); n_transfer = len(transfer)
    model = student_model(v.text.vocab_size, cfg, rnn, v.label.vocab_size, embedding=emb)
    opt = torch.optim.Adam(model.trainable_params, lr=cfg['student_lr'])
    pc = cfg['phrases']
    steps = dict(max_steps=pc['student_epochs'] * pc['checks'], epoch_per_step=1 / pc['checks']) if phrases else dict(max_steps=cfg['student_epochs'])
    if alpha is None:
        tr = make_trainer(v, model, opt, cfg, seed, **steps)
    else:
        teacher = memo_teacher(_outputs(work, phrases), v.text.padding_idx)
        tr = DistillationTrainer(v, *samplers(cfg, seed), teacher_model=teacher, student_model=model,
                                 loss_fn=torch.nn.NLLLoss(), metric_fn=Accuracy(), optimizer=opt, alpha_kl=alpha,
                                 temperature=temperature, transfer_data=transfer, seed=seed, cache_dir=False, **steps)
    t1 = time.perf_counter(); tr.fit(); fit_s = time.perf_counter() - t1
    dev, test = tr.evaluate(split='val'), tr.evaluate(split='test')
    return {'dev_acc': 100 * dev[ACC], 'test_acc': 100 * test[ACC], 'best_step': tr.best_step, 'seed': seed, 'rnn': rnn,
            'alpha': alpha, 'temperature': temperature, 'augment': augment, 'init': init, 'n_transfer': n_transfer,
            'train_examples_per_s': _train_rate(tr), 'fit_s': fit_s, 'data_s': data_s, 'params': count_params(model),
            'epochs': pc['student_epochs'] if phrases else cfg['student_epochs'], 'lr': cfg['student_lr'], 'curve': _curve(tr),
            'train_split': 'phrases' if phrases else 'sentences', 'phrases': phrases, 'n_train': len(v.train)}


# ------------------------------------------------------------------ phrases=True
def teacher_phrases(cfg, work: Path) -> dict:
    """The teacher fine-tuned on the sentences and the treebank's labelled sub-phrases (`SSTDataset(phrases=True)`),
    validated `checks` times per epoch, its LR decaying linearly to 0; scored, stored, and its outputs on every row kept."""
    torch = _torch()
    from distillnb.core import seed_everything
    pc = cfg['phrases']
    t0 = time.perf_counter()
    ds, v = load_sst(cfg, phrases=True)
    for split in (v.train, v.val, v.test): list(split)
    data_s = time.perf_counter() - t0
    seed_everything(0)
    model = teacher_model(v.label.vocab_size)
    opt = torch.optim.AdamW(model.trainable_params, lr=pc['teacher_lr'])
    n_iter = math.ceil(len(v.train) / cfg['batch_size']) * pc['teacher_epochs']
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: max(0.0, 1 - i / n_iter))
    tr = make_trainer(v, model, opt, cfg, 0, max_steps=pc['teacher_epochs'] * pc['checks'], epoch_per_step=1 / pc['checks'], iter_scheduler=sched)
    t1 = time.perf_counter(); tr.fit(); fit_s = time.perf_counter() - t1
    dev, test = tr.evaluate(split='val'), tr.evaluate(split='test')
    torch.save(model.state_dict(), work / 'teacher_phrases.pt')
    t2 = time.perf_counter()
    torch.save(label_all(model, [v.train, v.val, v.test], v.text.padding_idx), work / 'teacher_outputs_phrases.pt')
    return {'dev_acc': 100 * dev[ACC], 'test_acc': 100 * test[ACC], 'best_step': tr.best_step, 'checks_per_epoch': pc['checks'],
            'train_examples_per_s': _train_rate(tr), 'data_s': data_s, 'fit_s': fit_s, 'label_s': time.perf_counter() - t2,
            'n_train': len(v.train), 'n_dev': len(v.val), 'n_test': len(v.test), 'params': count_params(model),
            'curve': _curve(tr), 'epochs': pc['teacher_epochs'], 'lr': pc['teacher_lr'], 'schedule': 'linear decay to 0',
            'train_split': 'phrases', 'source': 'bench (Python API)'}


# ------------------------------------------------------------------ augmentation (issue 11)
def transfer(cfg, work: Path) -> dict:
    "Build the augmented transfer set with `distillnb.augment`, label it with the teacher once, and make the teacher-initialised embeddings."
    torch = _torch()
    import augment_api
    ds, v = load_sst(cfg)
    teacher, _ = load_teacher(work, v.label.vocab_size)
    s = time.perf_counter()
    info = augment_api.build(cfg, work, ds, v, teacher)
    build_s = time.perf_counter() - s
    examples = augment_api.transfer_set(cfg, work)
    s = time.perf_counter()
    torch.save(label_all(teacher, [examples_view(examples, v.train.pad_values)], v.text.padding_idx), work / 'teacher_outputs_transfer.pt')
    return {**info, 'total_build_s': build_s, 'label_s': time.perf_counter() - s}


class examples_view(list):
    "A list of examples with the `pad_values` a sampler reads."
    def __init__(self, examples, pad_values): super().__init__(examples); self.pad_values = pad_values


# ------------------------------------------------------------------ the whole pipeline, as the README runs it
def pipeline(cfg, work: Path, config: str = 'configs/tutorial-offline.yaml') -> dict:
    "The README's command: the offline tutorial config end to end through `Experiment.from_config(...).run()`."
    from distillnb.experiment import Experiment
    path = ROOT / config
    if not path.exists(): raise FileNotFoundError(f"{path} does not exist yet")
    # quick mode: a few batches per stage, only to check that the job works
    overrides = [f'pipeline.{k}.iter_per_step=2' for k in ('finetune', 'distill', 'scratch')] + \
                [f'pipeline.{k}.max_steps=1' for k in ('finetune', 'distill', 'scratch')] if cfg['train'] is not None else []
    s = time.perf_counter()
    exp = Experiment.from_config(path, overrides, save_path=str(work / 'pipeline'), force=True).run()
    wall = time.perf_counter() - s
    stages = {k: {'seconds': r['seconds'], 'metric': r['metric'], 'metric_name': r['metric_name']} for k, r in exp.results.items()}
    rows = [{k: v for k, v in r.items() if isinstance(v, (int, float, str)) or v is None}
            for r in getattr(exp.stages.get('report'), 'rows', None) or []]
    import torch
    ft = exp.stages['finetune']
    torch.save(ft.model.state_dict(), work / 'teacher.pt')  # the teacher every later job learns from
    students = {}
    for name in ('distill', 'scratch'):  # the pipeline's students count as one run each of the accuracy table
        st = exp.stages.get(name)
        if st is None: continue
        dev, test = st.evaluate(split='val'), st.evaluate(split='test')
        rates = [r['examples/s'] for r in st.history if not math.isnan(r.get('examples/s', math.nan))]
        students[name] = {'job': 'student', 'seed': 'pipeline', 'rnn': getattr(st.model.embedder.encoder, 'rnn', None) and st.model.embedder.encoder.rnn.rnn_type,
                          'alpha': getattr(st, 'alpha_kl', None), 'temperature': getattr(st, 'temperature', 1.0), 'augment': False, 'init': False,
                          'dev_acc': 100 * dev[ACC], 'test_acc': 100 * test[ACC], 'best_step': st.best_step, 'epochs': st.max_steps,
                          'lr': st.optimizer.param_groups[0]['lr'], 'train_examples_per_s': statistics.mean(rates) if rates else None,
                          'curve': _curve(st), 'train_split': 'sentences', 'params': count_params(st.model)}
    t_dev, t_test = ft.evaluate(split='val'), ft.evaluate(split='test')
    import hashlib
    return {'wall_s': wall, 'config': config, 'save_dir': str(work / 'pipeline'), 'config_sha1': hashlib.sha1(path.read_bytes()).hexdigest()[:12],
            'overrides': overrides, 'stages': stages, 'report_rows': rows, 'students': students,
            'teacher': {'dev_acc': 100 * t_dev[ACC], 'test_acc': 100 * t_test[ACC], 'curve': _curve(ft), 'best_step': ft.best_step}}


JOBS = {f.__name__: f for f in (teacher, teacher_phrases, student, transfer, pipeline)}  # and timing.JOBS
