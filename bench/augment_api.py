"""The benchmark's bridge to issue 11's augmentation (`distillnb.augment`): an augmented transfer set, labelled by the
teacher once, and student embeddings started from the teacher's word pieces."""
from __future__ import annotations
import hashlib
from pathlib import Path


def build(cfg: dict, work: Path, dataset, view, teacher) -> dict:
    "Make the transfer set and the teacher-initialised embeddings once; store both under `work`."
    import torch
    from distillnb import augment
    from distillnb.models import Embeddings
    kw = dict(cfg['augment'])
    tr = augment.AugmentedTransfer(dataset, neighbours_from=teacher, seed=0, **kw)
    examples = [tr[i] for i in range(len(tr))]
    if cfg['train'] is not None: examples = examples[:len(view.train) * kw['n_variants']]  # quick mode: a slice
    torch.save(examples, work / 'transfer.pt')
    emb = Embeddings.from_teacher(teacher, view.text.vocab_size, cfg['embedding_dim'])
    torch.save(emb.weight.detach().clone(), work / 'init_embeddings.pt')
    src = Path(augment.__file__).read_bytes()
    return {'n_transfer': len(examples), 'n_sources': len(tr.sources), 'build_s': tr.seconds, 'settings': kw,
            'augment_py_sha1': hashlib.sha1(src).hexdigest()[:12], 'examples': [t for t in tr.texts[:5]]}


def transfer_set(cfg: dict, work: Path) -> list:
    import torch
    return torch.load(work / 'transfer.pt')


def teacher_embeddings(cfg: dict, work: Path, teacher_file: str = 'teacher.pt'):
    "The student's Embeddings, started by `Embeddings.from_teacher` from the stored teacher `teacher_file` (table made once per teacher, kept)."
    import torch
    from distillnb import augment  # noqa: F401  (adds Embeddings.from_teacher)
    from distillnb.models import Embeddings
    path = work / ('init_embeddings.pt' if teacher_file == 'teacher.pt' else f'init_embeddings_{Path(teacher_file).stem}.pt')
    if not path.exists() or path.stat().st_mtime < (work / teacher_file).stat().st_mtime:  # made again when the teacher was
        from common import teacher_model
        teacher = teacher_model(2)
        teacher.load_state_dict(torch.load(work / teacher_file))
        vocab = teacher.embedder.model.get_input_embeddings().num_embeddings
        torch.save(Embeddings.from_teacher(teacher, vocab, cfg['embedding_dim']).weight.detach().clone(), path)
    return Embeddings.from_pretrained(torch.load(path), freeze=False)
