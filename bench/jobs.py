"""The benchmark's jobs. Each runs in a process of its own (see run.py), so its peak RSS is its own,
and returns a dict of figures that run.py stores under bench/.work/<mode>/results/<job>.json."""
from __future__ import annotations
import json, logging, math, os, re, statistics, time
from pathlib import Path
from common import (ROOT, load_sst, teacher_model, student_model, memo_teacher, _key, _report_fns,
                    count_params)

ACC = 'Accuracy'


def _torch():
    import torch
    return torch


def _samplers(cfg, seed, bucket=None) -> tuple:
    "Training and validation samplers as in configs/tutorial-offline.yaml: batches of 32 (64 to validate), bucketed by length."
    from distillnb.data import BaseSampler
    b = cfg['bucket'] if bucket is None else bucket
    return BaseSampler(cfg['batch_size'], seed=seed, bucket=b), BaseSampler(cfg['val_batch_size'], shuffle=False, bucket=b)


def _trainer(view, model, opt, cfg, seed, max_steps=None, sampler=None, bucket=None, **kw):
    from distillnb.train import Trainer
    from distillnb.data import BaseSampler
    from distillnb.metrics import Accuracy
    torch = _torch()
    train, val = _samplers(cfg, seed, bucket)
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
        tr = _trainer(v, model, opt, cfg, 0, max_steps=cfg['teacher_epochs'])
        t1 = time.perf_counter(); tr.fit(); fit_s = time.perf_counter() - t1
        history, source, best_step = tr.history, 'bench (Python API)', tr.best_step
    from distillnb.train import Trainer
    ev = _trainer(v, model, torch.optim.SGD(model.trainable_params, lr=0.0), cfg, 0, max_steps=1, progress=False)
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


def _load_teacher(work: Path, n_classes: int, need_trained: bool = True):
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
    from distillnb.data import BaseSampler
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
        tr = _trainer(v, model, opt, cfg, seed, **steps)
    else:
        teacher = memo_teacher(_outputs(work, phrases), v.text.padding_idx)
        tr = DistillationTrainer(v, *_samplers(cfg, seed), teacher_model=teacher, student_model=model,
                                 loss_fn=torch.nn.NLLLoss(), metric_fn=Accuracy(), optimizer=opt, alpha_kl=alpha,
                                 temperature=temperature, transfer_data=transfer, seed=seed, **steps)
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
    tr = _trainer(v, model, opt, cfg, 0, max_steps=pc['teacher_epochs'] * pc['checks'], epoch_per_step=1 / pc['checks'], iter_scheduler=sched)
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
    teacher, _ = _load_teacher(work, v.label.vocab_size)
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


# ------------------------------------------------------------------ speed: inference
def inference(cfg, work: Path) -> dict:
    "Examples/s at batch 32 and median latency at batch 1 on dev, for the teacher and the SRU and LSTM students."
    torch = _torch()
    from distillnb.core import seed_everything
    n_params, speed, lat, source = _report_fns()
    ds, v = load_sst(cfg)
    data = v.val if cfg['speed_slice'] is None else v.val[:cfg['speed_slice']]
    list(data)
    seed_everything(0)
    models = {'teacher': _load_teacher(work, v.label.vocab_size, need_trained=False)[0],
              'sru': student_model(v.text.vocab_size, cfg, 'sru'), 'lstm': student_model(v.text.vocab_size, cfg, 'lstm')}
    out = {k: {'params': n_params(m), 'b32': [], 'b1': []} for k, m in models.items()}
    jobs_threads, default = torch.get_num_threads(), os.cpu_count()
    torch.set_num_threads(default)  # first with every core, as the library runs by default
    one = {k: {'b32': [], 'b1': []} for k in models}
    for rnd in range(2):  # two rounds, each model in turn; the best of each is kept (the 2 cores are shared)
        for k, m in models.items():
            out[k]['b32'].append(speed(m, data, columns=[0], batch_size=32))
            out[k]['b1'].append(lat(m, data, columns=[0], n=cfg['latency_n']))
    # again on one thread: on a loaded machine, two threads that wait for each other distort small models the most
    torch.set_num_threads(1)
    for k, m in models.items():
        one[k]['b32'].append(speed(m, data, columns=[0], batch_size=32))
        one[k]['b1'].append(lat(m, data, columns=[0], n=cfg['latency_n']))
    torch.set_num_threads(default)
    for k, m in models.items(): out[k].update(macs_per_token=macs_per_token(m), time_shares=time_shares(m, data))
    torch.set_num_threads(jobs_threads)
    for k in out:
        out[k].update(examples_per_s_b32=max(out[k]['b32']), latency_b1_s=min(out[k]['b1']),
                      one_thread={'examples_per_s_b32': max(one[k]['b32']), 'latency_b1_s': min(one[k]['b1'])})
    return {'models': out, 'n_examples': len(data), 'latency_n': cfg['latency_n'], 'functions': source, 'threads': default}


def macs_per_token(model) -> int:
    "Multiply-adds per token of the weight matrices a token goes through: every parameter of 2+ dimensions outside an embedding table."
    torch = _torch()
    tables = {id(p) for mod in model.modules() if isinstance(mod, torch.nn.Embedding) for p in mod.parameters()}
    return sum(p.numel() for p in model.parameters() if p.dim() >= 2 and id(p) not in tables)


def time_shares(model, data, batch_size: int = 32) -> dict:
    "Where a model's inference time goes in the batches `inference_speed` times (torch profiler, self CPU time): matrix products, the SRU kernel, the rest."
    torch = _torch()
    from distillnb.report import _batches
    model.eval()
    batches, _ = _batches(data, [0], batch_size, 1024, 0)  # the batches `inference_speed` times
    with torch.inference_mode():
        model(*batches[0])
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for b in batches: model(*b)
    groups = {'matrix products': ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::matmul', 'aten::linear', 'aten::_scaled_dot_product'),
              'sru package recurrence kernel': ('sru_cpu::',)}
    shares, total = {g: 0.0 for g in groups}, 0.0
    for e in prof.key_averages():
        t = e.self_cpu_time_total; total += t
        g = next((g for g, names in groups.items() if e.key.startswith(names)), None)
        if g: shares[g] += t
    shares = {g: t / total for g, t in shares.items() if t}
    shares['everything else'] = 1 - sum(shares.values())
    return shares


# ------------------------------------------------------------------ speed: training, SRU against LSTM
def train_speed(cfg, work: Path) -> dict:
    "One training epoch of the SRU and of the LSTM student through the Trainer, alternated twice; training examples/s."
    torch = _torch()
    from distillnb.core import seed_everything
    ds, v = load_sst(cfg)
    if cfg['train_speed_slice']: v.train = v.train[:cfg['train_speed_slice']]
    v.val = v.val[:64]  # validation is not what is timed here
    list(v.train); list(v.val)
    rates = {'sru': [], 'lstm': []}
    for rnd in range(2):
        for rnn in ('sru', 'lstm'):
            seed_everything(rnd)
            m = student_model(v.text.vocab_size, cfg, rnn)
            tr = _trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, rnd, max_steps=1, progress=False).fit()
            rates[rnn].append(tr.history[-1]['examples/s'])
    # the SRU once more with every core: is one thread per job the faster choice on this machine right now?
    n_threads = torch.get_num_threads(); torch.set_num_threads(os.cpu_count())
    seed_everything(0)
    m = student_model(v.text.vocab_size, cfg, 'sru')
    tr = _trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1, progress=False).fit()
    torch.set_num_threads(n_threads)
    return {'sru_all_cores': tr.history[-1]['examples/s'], 'threads': n_threads, 'cores': os.cpu_count(),
            'examples_per_s': rates, 'sru': max(rates['sru']), 'lstm': max(rates['lstm']),
            'sru_over_lstm': max(rates['sru']) / max(rates['lstm']), 'n_train': len(v.train)}


# ------------------------------------------------------------------ framework overhead
def _bare_loop(model, opt, train, val, bs: int, pad: int, seed: int, val_bs: int):
    "Plain PyTorch doing the Trainer's work: validate, one shuffled epoch, validate, keep and restore the best weights."
    torch = _torch()
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pad_sequence
    g = torch.Generator().manual_seed(seed)
    def batches(data, shuffle):
        order = torch.randperm(len(data), generator=g).tolist() if shuffle else list(range(len(data)))
        size = bs if shuffle else val_bs
        for i in range(0, len(order), size):
            ex = [data[j] for j in order[i:i + size]]
            yield pad_sequence([e[0] for e in ex], batch_first=True, padding_value=pad), torch.stack([e[1] for e in ex])
    def accuracy():
        model.eval(); right = 0
        with torch.inference_mode():
            for x, y in batches(val, False): right += (model(x).argmax(-1) == y).sum().item()
        model.train(); return right / len(val)
    best, best_state = accuracy(), {k: t.detach().clone() for k, t in model.state_dict().items()}
    model.train()
    for x, y in batches(train, True):
        loss = F.nll_loss(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    acc = accuracy()
    if acc > best: best, best_state = acc, {k: t.detach().clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    return best


def overhead(cfg, work: Path) -> dict:
    "Wall time of `Trainer.fit()` (1 epoch, validation before and after) against the same work in a bare PyTorch loop."
    torch = _torch()
    from distillnb.core import seed_everything
    ds, v = load_sst(cfg)
    if cfg['train_speed_slice']: v.train = v.train[:cfg['train_speed_slice']]
    list(v.train); list(v.val)
    times = {'trainer': [], 'bare': []}
    seed_everything(0)  # an untimed warm-up, so that neither loop pays for the process's first allocations
    m = student_model(v.text.vocab_size, cfg, 'sru')
    _bare_loop(m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), v.train[:128], v.val[:64], cfg['batch_size'],
               v.text.padding_idx, 0, cfg['val_batch_size'])
    for rnd in range(cfg['overhead_reps']):
        for kind in (('trainer', 'bare') if rnd % 2 == 0 else ('bare', 'trainer')):  # alternate which goes first
            seed_everything(rnd)
            m = student_model(v.text.vocab_size, cfg, 'sru')
            opt = torch.optim.Adam(m.trainable_params, lr=cfg['student_lr'])
            s = time.perf_counter()
            if kind == 'trainer': _trainer(v, m, opt, cfg, rnd, max_steps=1, bucket=False, progress=False).fit()  # no bucketing: the same batches' shapes as the bare loop
            else: _bare_loop(m, opt, v.train, v.val, cfg['batch_size'], v.text.padding_idx, rnd, cfg['val_batch_size'])
            times[kind].append(time.perf_counter() - s)
    # one more Trainer round under cProfile (not timed above): where does its time go?
    import cProfile, pstats
    seed_everything(0)
    m = student_model(v.text.vocab_size, cfg, 'sru')
    tr = _trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1, bucket=False, progress=False)
    pr = cProfile.Profile(); pr.enable(); tr.fit(); pr.disable()
    st = pstats.Stats(pr).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(v[2] for v in st.values())  # self times add up to the whole, with nothing counted twice
    own = ('train.py', 'data.py', 'metrics.py', 'core.py', 'fastprogress.py')  # the framework's own Python: not the model's
    framework = sum(v[2] for k, v in st.items() if k[0].startswith(str(ROOT / 'distillnb')) and k[0].endswith(own))
    profile = {'total_s': total, 'framework_self_s': framework, 'framework_share': framework / total}
    return {'profile': profile, 'seconds': times, 'trainer_s': min(times['trainer']), 'bare_s': min(times['bare']),
            'ratio': min(times['trainer']) / min(times['bare']),
            'ratio_median': statistics.median(times['trainer']) / statistics.median(times['bare']), 'n_train': len(v.train)}


# ------------------------------------------------------------------ distillation with and without the teacher-logit cache
class _Grab(logging.Handler):
    def __init__(self): super().__init__(); self.lines = []
    def emit(self, record): self.lines.append(record.getMessage())


def cache(cfg, work: Path) -> dict:
    "One distillation epoch with the real teacher run on every batch, against one with its outputs cached first."
    torch = _torch()
    from distillnb.core import seed_everything
    from distillnb.data import BaseSampler
    from distillnb.metrics import Accuracy
    from distillnb.distill import DistillationTrainer
    ds, v = load_sst(cfg)
    v.val = v.val[:64]  # the teacher's and student's dev scores are not what is timed
    if cfg['cache_slice']: v.train = v.train[:cfg['cache_slice']]
    list(v.train); list(v.val)
    teacher, trained = _load_teacher(work, v.label.vocab_size, need_trained=False)
    grab = _Grab(); logging.getLogger('distillnb.train').addHandler(grab); logging.getLogger('distillnb.train').setLevel(logging.INFO)
    out = {}
    for cached in (False, True):
        seed_everything(0)
        m = student_model(v.text.vocab_size, cfg, 'sru')
        tr = DistillationTrainer(v, *_samplers(cfg, 0),
                                 teacher_model=teacher, student_model=m, loss_fn=torch.nn.NLLLoss(), metric_fn=Accuracy(),
                                 optimizer=torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), alpha_kl=0.5, temperature=1.0,
                                 cache_teacher=cached, max_steps=1, progress=False)
        grab.lines.clear()
        s = time.perf_counter(); tr.fit(); total = time.perf_counter() - s
        fill = next((float(m_.group(1)) for l in grab.lines if (m_ := re.search(r'cached for \d+ examples in ([\d.]+)s', l))), 0.0)
        out['cached' if cached else 'uncached'] = {'epoch_s': len(v.train) / tr.history[-1]['examples/s'], 'fill_s': fill, 'fit_s': total}
    u, c = out['uncached'], out['cached']
    E = cfg['student_epochs']
    return {**out, 'speedup_per_epoch': u['epoch_s'] / c['epoch_s'],
            f'speedup_{E}_epochs': E * u['epoch_s'] / (c['fill_s'] + E * c['epoch_s']), 'epochs': E,
            'n_train': len(v.train), 'teacher_trained': trained}


# ------------------------------------------------------------------ padding
class FixedLength:
    "A split whose text column is padded to one fixed length: what a max-length tokenizer setting gives."
    def __init__(self, data, length: int, pad: int):
        self.data, self.length, self.pad = data, length, pad
        self.pad_values, self.columns = data.pad_values, data.columns
    def __len__(self): return len(self.data)
    def __getitem__(self, i):
        torch = _torch()
        text, *rest = self.data[i]
        return (torch.cat([text, text.new_full((self.length - len(text),), self.pad)]), *rest)


def _tokens(sampler, data) -> tuple[int, int]:
    "Tokens the model processes in one epoch (batch x padded length, summed) and the real ones among them."
    pad = data.pad_values[0]
    tot = real = 0
    for b in sampler.sample(data):
        tot += b[0].numel(); real += int((b[0] != pad).sum())
    return tot, real


def padding(cfg, work: Path) -> dict:
    "Fixed max-length padding, dynamic padding and bucketing: tokens per epoch, teacher inference time, SRU training time."
    torch = _torch()
    from distillnb.core import seed_everything
    from distillnb.data import BaseSampler
    ds, v = load_sst(cfg)
    pad, bs = v.text.padding_idx, cfg['batch_size']
    list(v.train); list(v.val); list(v.test)
    L = max(len(ex[0]) for split in (v.train, v.val, v.test) for ex in split)
    modes = {'fixed': (lambda d: FixedLength(d, L, pad), dict()), 'dynamic': (lambda d: d, dict()), 'bucket': (lambda d: d, dict(bucket=True))}
    res = {'max_len': L, 'batch_size': bs, 'modes': {}}
    for name, (wrap, kw) in modes.items():
        tot, real = _tokens(BaseSampler(bs, seed=0, **kw), wrap(v.train))
        res['modes'][name] = {'train_tokens': tot, 'real_tokens': real, 'padding_share': 1 - real / tot}
    teacher, _ = _load_teacher(work, v.label.vocab_size, need_trained=False)
    teacher.eval()
    sub = v.train[:cfg['padding_train_slice']]; list(sub)
    dev = v.val[:cfg['padding_dev_slice']] if cfg['padding_dev_slice'] else v.val
    for rnd in range(2):
        for name, (wrap, kw) in modes.items():
            r = res['modes'][name]
            s = time.perf_counter()
            with torch.inference_mode():
                for b in BaseSampler(bs, shuffle=False, **kw).sample(wrap(dev)): teacher(b[0])
            r.setdefault('teacher_dev_s', []).append(time.perf_counter() - s)
            seed_everything(0)
            m = student_model(v.text.vocab_size, cfg, 'sru')
            view = type(v)(**{**vars(v), 'train': wrap(sub), 'val': wrap(v.val[:64])})
            tr = _trainer(view, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1,
                          sampler=BaseSampler(bs, seed=0, **kw), progress=False).fit()
            r.setdefault('student_train_s', []).append(len(sub) / tr.history[-1]['examples/s'])
    for r in res['modes'].values(): r['teacher_dev_s'], r['student_train_s'] = min(r['teacher_dev_s']), min(r['student_train_s'])
    res['n_dev'], res['n_student_train'] = len(dev), len(sub)
    return res


# ------------------------------------------------------------------ the whole pipeline, as the README runs it
def pipeline(cfg, work: Path, config: str = 'configs/tutorial-offline.yaml') -> dict:
    "The README's command: the offline tutorial config end to end through `Experiment.from_config(...).run()`."
    from common import ROOT
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


JOBS = {f.__name__: f for f in (teacher, teacher_phrases, student, transfer, inference, train_speed, overhead, cache, padding, pipeline)}
