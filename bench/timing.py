"""The benchmark's timing jobs: inference speed, training speed, the Trainer's overhead, the teacher-logit cache, padding.
Run like the jobs of jobs.py, each in a process of its own; `JOBS` names them for run.py."""
from __future__ import annotations
import logging, os, re, statistics, time
from pathlib import Path
from common import ROOT, load_sst, student_model
from jobs import load_teacher, make_trainer, samplers, _torch


# ------------------------------------------------------------------ speed: inference
def inference(cfg, work: Path) -> dict:
    "Examples/s at batch 32 and median latency at batch 1 on dev, for the teacher and the SRU and LSTM students."
    torch = _torch()
    from distillnb.core import count_params, seed_everything
    from distillnb.report import inference_speed, latency
    ds, v = load_sst(cfg)
    data = v.val if cfg['speed_slice'] is None else v.val[:cfg['speed_slice']]
    list(data)
    seed_everything(0)
    models = {'teacher': load_teacher(work, v.label.vocab_size, need_trained=False)[0],
              'sru': student_model(v.text.vocab_size, cfg, 'sru'), 'lstm': student_model(v.text.vocab_size, cfg, 'lstm')}
    out = {k: {'params': count_params(m), 'b32': [], 'b1': []} for k, m in models.items()}
    jobs_threads, default = torch.get_num_threads(), os.cpu_count()
    torch.set_num_threads(default)  # first with every core, as the library runs by default
    one = {k: {'b32': [], 'b1': []} for k in models}
    for rnd in range(2):  # two rounds, each model in turn; the best of each is kept (the 2 cores are shared)
        for k, m in models.items():
            out[k]['b32'].append(inference_speed(m, data, columns=[0], batch_size=32))
            out[k]['b1'].append(latency(m, data, columns=[0], n=cfg['latency_n']))
    # again on one thread: on a loaded machine, two threads that wait for each other distort small models the most
    torch.set_num_threads(1)
    for k, m in models.items():
        one[k]['b32'].append(inference_speed(m, data, columns=[0], batch_size=32))
        one[k]['b1'].append(latency(m, data, columns=[0], n=cfg['latency_n']))
    torch.set_num_threads(default)
    for k, m in models.items(): out[k].update(macs_per_token=macs_per_token(m), time_shares=time_shares(m, data))
    torch.set_num_threads(jobs_threads)
    for k in out:
        out[k].update(examples_per_s_b32=max(out[k]['b32']), latency_b1_s=min(out[k]['b1']),
                      one_thread={'examples_per_s_b32': max(one[k]['b32']), 'latency_b1_s': min(one[k]['b1'])})
    return {'models': out, 'n_examples': len(data), 'latency_n': cfg['latency_n'], 'functions': 'distillnb.report', 'threads': default}


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
def _sliced(cfg, n_val: int | None = None):
    "The SST view with training cut to `train_speed_slice` (dev to `n_val`), its word pieces computed before any timing."
    ds, v = load_sst(cfg)
    if cfg['train_speed_slice']: v.train = v.train[:cfg['train_speed_slice']]
    if n_val: v.val = v.val[:n_val]
    list(v.train); list(v.val)
    return v


def train_speed(cfg, work: Path) -> dict:
    "One training epoch of the SRU and of the LSTM student through the Trainer, alternated twice; training examples/s."
    torch = _torch()
    from distillnb.core import seed_everything
    v = _sliced(cfg, n_val=64)  # validation is not what is timed here
    rates = {'sru': [], 'lstm': []}
    for rnd in range(2):
        for rnn in ('sru', 'lstm'):
            seed_everything(rnd)
            m = student_model(v.text.vocab_size, cfg, rnn)
            tr = make_trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, rnd, max_steps=1, progress=False).fit()
            rates[rnn].append(tr.history[-1]['examples/s'])
    # the SRU once more with every core: is one thread per job the faster choice on this machine right now?
    n_threads = torch.get_num_threads(); torch.set_num_threads(os.cpu_count())
    seed_everything(0)
    m = student_model(v.text.vocab_size, cfg, 'sru')
    tr = make_trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1, progress=False).fit()
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
    v = _sliced(cfg)
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
            if kind == 'trainer': make_trainer(v, m, opt, cfg, rnd, max_steps=1, bucket=False, progress=False).fit()  # no bucketing: the same batches' shapes as the bare loop
            else: _bare_loop(m, opt, v.train, v.val, cfg['batch_size'], v.text.padding_idx, rnd, cfg['val_batch_size'])
            times[kind].append(time.perf_counter() - s)
    # one more Trainer round under cProfile (not timed above): where does its time go?
    import cProfile, pstats
    seed_everything(0)
    m = student_model(v.text.vocab_size, cfg, 'sru')
    tr = make_trainer(v, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1, bucket=False, progress=False)
    pr = cProfile.Profile(); pr.enable(); tr.fit(); pr.disable()
    st = pstats.Stats(pr).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(v[2] for v in st.values())  # self times add up to the whole, with nothing counted twice
    own = ('train.py', 'progress.py', 'checkpoint.py', 'data.py', 'sampler.py', 'sst.py', 'metrics.py', 'core.py',
           'fastprogress.py')  # the framework's own Python (trainer, sampler, dataset, metrics): not the model's
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
    from distillnb.metrics import Accuracy
    from distillnb.distill import DistillationTrainer
    ds, v = load_sst(cfg)
    v.val = v.val[:64]  # the teacher's and student's dev scores are not what is timed
    if cfg['cache_slice']: v.train = v.train[:cfg['cache_slice']]
    list(v.train); list(v.val)
    teacher, trained = load_teacher(work, v.label.vocab_size, need_trained=False)
    grab = _Grab(); logging.getLogger('distillnb.train').addHandler(grab); logging.getLogger('distillnb.train').setLevel(logging.INFO)
    out = {}
    for cached in (False, True):
        seed_everything(0)
        m = student_model(v.text.vocab_size, cfg, 'sru')
        tr = DistillationTrainer(v, *samplers(cfg, 0),
                                 teacher_model=teacher, student_model=m, loss_fn=torch.nn.NLLLoss(), metric_fn=Accuracy(),
                                 optimizer=torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), alpha_kl=0.5, temperature=1.0,
                                 cache_teacher=cached, cache_dir=False, max_steps=1, progress=False)  # no disk cache: the fill is what is timed
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
    teacher, _ = load_teacher(work, v.label.vocab_size, need_trained=False)
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
            tr = make_trainer(view, m, torch.optim.Adam(m.trainable_params, lr=cfg['student_lr']), cfg, 0, max_steps=1,
                          sampler=BaseSampler(bs, seed=0, **kw), progress=False).fit()
            r.setdefault('student_train_s', []).append(len(sub) / tr.history[-1]['examples/s'])
    for r in res['modes'].values(): r['teacher_dev_s'], r['student_train_s'] = min(r['teacher_dev_s']), min(r['student_train_s'])
    res['n_dev'], res['n_student_train'] = len(dev), len(sub)
    return res


JOBS = {f.__name__: f for f in (inference, train_speed, overhead, cache, padding)}
