"""Shared pieces of the benchmark: settings, the SST data, the models, a teacher whose answers are looked up.

Everything is built through distillnb's own classes (SSTDataset, BertTextField, TextClassifier,
BertEmbedder, Embedder/PooledRNNEncoder, Trainer, DistillationTrainer) and timed with distillnb.report's
`inference_speed` and `latency`, so the benchmark measures the product itself.
"""
from __future__ import annotations
import json, os, platform, resource, shlex, warnings
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TEACHER_ALIAS = 'all-MiniLM-L6-v2'

# Settings. `quick` is for developing the benchmark: tiny slices, one step; its results go elsewhere.
# The training settings are those of configs/tutorial-offline.yaml (the README's command).
FULL = dict(train=None, val=None, test=None, batch_size=32, val_batch_size=64, bucket=True,
            teacher_epochs=2, teacher_lr=5e-5,
            student_epochs=5, student_lr=2e-3, embedding_dim=300, hidden_size=256, n_layers=2,
            seeds=[0, 1, 2],
            tutorial_alpha_t=(0.5, 1.0), search=[(0.9, 2.0), (0.5, 4.0)],
            augment=dict(n_variants=2),  # Tang et al. used 20 variants; 2 is what fits this machine's time (each doubles an epoch)
            # phrases=True: the sentences and their labelled sub-phrases (77,625 rows, 5.4x the words); each model validates
            # `checks` times per epoch and keeps its best; the teacher's LR decays linearly to 0 over its epochs
            phrases=dict(teacher_epochs=2, teacher_lr=5e-5, student_epochs=2, checks=4),  # earlier settings' runs: bench/notes.yaml
            speed_slice=None, latency_n=200, overhead_reps=7, padding_train_slice=500, padding_dev_slice=300,
            train_speed_slice=1000, cache_slice=1000)  # slices: the machine is shared and slow; ratios do not need the whole split
QUICK = dict(FULL, train=96, val=64, test=64, teacher_epochs=1, student_epochs=1, seeds=[0, 1],
             search=[(0.9, 2.0)], augment=dict(n_variants=1), phrases=dict(teacher_epochs=1, teacher_lr=5e-5, student_epochs=1, checks=2), speed_slice=64, latency_n=10, overhead_reps=1, padding_train_slice=64, padding_dev_slice=64,
             train_speed_slice=64, cache_slice=None)
# The quick tutorial (as nbs/08_tutorial.ipynb's quick run): seeded samples and a step or two per trainer.
_FIELDS = '{text: !BertTextField {alias: all-MiniLM-L6-v2}, label: !LabelField {}}'
QUICK['tutorial_quick_overrides'] = [
    f'pipeline.dataset=!SSTDataset.sample {{dataset: !SSTDataset {{transform: {_FIELDS}}}, train: 640, val: 200}}',
    f'pipeline.phrases=!SSTDataset.sample {{dataset: !SSTDataset {{phrases: true, transform: {_FIELDS}}}, train: 3000, val: 200}}',
    'pipeline.finetune.max_steps=1', 'pipeline.distill.max_steps=2', 'pipeline.scratch.max_steps=2']
QUICK['best_quick_overrides'] = [  # the best recipe (configs/best-offline.yaml) on samples, a step per trainer
    f'pipeline.phrases=!SSTDataset.sample {{dataset: !SSTDataset {{phrases: true, transform: {_FIELDS}}}, train: 600, val: 100}}',
    'pipeline.finetune_a.max_steps=1', 'pipeline.finetune_b.max_steps=1', 'pipeline.distill.max_steps=1']
QUICK['tutorial_quick_args'] = ' '.join(f"--set {shlex.quote(o)}" for o in QUICK['tutorial_quick_overrides'])


def settings(quick: bool) -> dict: return dict(QUICK if quick else FULL)


def work_dir(quick: bool) -> Path:
    "Where partial results live (git-ignored): bench/.work/full or bench/.work/quick."
    d = BENCH / '.work' / ('quick' if quick else 'full')
    (d / 'results').mkdir(parents=True, exist_ok=True); (d / 'logs').mkdir(parents=True, exist_ok=True)
    return d


def quiet():
    "Fewer threads fighting and fewer warnings: the machine's 2 cores are shared."
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    beside = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'sst'  # the offline copy beside the project, as the Makefile uses
    if beside.is_dir(): os.environ.setdefault('DISTILLNB_DATA', str(beside))
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)


def peak_rss_mb() -> float:
    "Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loadavg() -> list[float]: return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- data
def load_sst(cfg: dict, phrases: bool = False):
    "SST-2 from the offline trees with the teacher's word pieces; returns (dataset, view) where view may be sliced."
    from distillnb.data import SSTDataset
    from distillnb.fields import BertTextField, LabelField
    ds = SSTDataset(phrases=phrases, transform={'text': BertTextField.from_alias(TEACHER_ALIAS), 'label': LabelField()})
    cut = lambda split, n: split if n is None else split[::max(1, len(split) // n)][:n]  # spread over the file: SST's trees come in runs of one label
    view = SimpleNamespace(train=cut(ds.train, cfg['train']), val=cut(ds.val, cfg['val']), test=cut(ds.test, cfg['test']),
                           text=ds.text, label=ds.label)
    return ds, view


# ---------------------------------------------------------------- models
def teacher_model(n_classes: int = 2):
    "The tutorial's teacher: all-MiniLM-L6-v2, mean pooling (as the checkpoint was trained), then a linear softmax layer."
    from distillnb.models import TextClassifier, BertEmbedder, SoftmaxLayer
    emb = BertEmbedder(TEACHER_ALIAS, pool='mean')
    return TextClassifier(emb, SoftmaxLayer(emb.hidden_size, n_classes))


def student_model(vocab_size: int, cfg: dict, rnn_type: str = 'sru', n_classes: int = 2, embedding=None):
    "The tutorial's student: word-piece embeddings, a 2-layer RNN, the last real token's state, a softmax layer."
    from distillnb.models import TextClassifier, Embedder, Embeddings, PooledRNNEncoder, SoftmaxLayer
    emb = embedding if embedding is not None else Embeddings(vocab_size, cfg['embedding_dim'])
    enc = PooledRNNEncoder(emb.embedding_dim, cfg['hidden_size'], n_layers=cfg['n_layers'], rnn_type=rnn_type, pooling='last')
    return TextClassifier(Embedder(emb, enc), SoftmaxLayer(enc.output_size, n_classes))


# ---------------------------------------------------------------- a teacher whose answers were computed once
def _key(row, pad: int) -> tuple: return tuple(int(t) for t in row[row != pad].tolist())


def memo_teacher(table: dict, pad: int):
    """The fine-tuned teacher's log-probabilities, looked up by word-piece ids instead of recomputed.

    The teacher is trained once (job `teacher`), which then writes its outputs for every sentence the
    students see. Each student run happens in its own process (for a clean peak-memory figure), and
    gives `DistillationTrainer` this module as `teacher_model`: the trainer scores it on dev and fills
    its teacher-logit cache exactly as with the real teacher, only without 90 MB of weights and
    48 s of teacher passes per run. The cost of the real teacher pass is measured in section `speed`.
    """
    import torch
    from torch import nn

    class _Memo(nn.Module):
        def __init__(self):
            super().__init__()
            self.anchor = nn.Parameter(torch.zeros(()), requires_grad=False)  # so .to(device) and .parameters() work
        def forward(self, data, target=None):
            rows = [table.get(_key(r, pad)) for r in data]
            missing = sum(r is None for r in rows)
            if missing: raise KeyError(f"{missing} sentences have no stored teacher output: rerun the teacher job (--force --only teacher)")
            pred = torch.stack(rows).to(self.anchor.device)
            return pred if target is None else (pred, target)
    return _Memo()


def machine() -> str:
    import torch
    cpu = ''
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): cpu = platform.processor()
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, torch {torch.__version__}"


def write_json(path: Path, obj) -> Path:
    "`obj` as indented JSON, written atomically (numpy and torch scalars as floats)."
    from distillnb.core import atomic_write
    return atomic_write(path, json.dumps(obj, indent=1, default=float))
