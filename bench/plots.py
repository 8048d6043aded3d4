"""The benchmark's plots, drawn from the figures and the job results: accuracy.png, speed.png, curves.png, padding.png."""
from __future__ import annotations
from pathlib import Path
from figures import ANCHORS, PHRASE_STUDENTS, students, teacher_of, tutorial


def _log_ticks(axis):
    "Plain-number ticks at 1, 2 and 5 times each power of ten and no minor labels: matplotlib's default labels of the minor ticks collide."
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f'{v:,.0f}'))
    axis.set_minor_formatter(NullFormatter())


def plots(cfg, res, f, out_dir: Path) -> dict:
    "Draw every plot the results allow into `out_dir`; returns {name: file name}."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    made = {}
    # accuracy: ours (mean ± std over seeds) beside the published anchors
    rows = [('teacher (MiniLM-L6, ours)', f.get('teacher_dev_acc'), None, 'C0')]
    for k, label in (('student_scratch', 'SRU student, labels only'), ('student_distilled', 'SRU student, distilled (α=0.5, T=1)'),
                     ('student_best', f"SRU student, distilled (best α={f.get('student_best_alpha')}, T={f.get('student_best_temperature')})"),
                     ('student_lstm_scratch', 'LSTM student, labels only')):
        rows.append((label, f.get(f'{k}_dev_acc'), f.get(f'{k}_dev_acc_std'), 'C1'))
    names = {'noaug_init': 'SRU distilled, teacher-initialised', 'aug_noinit': 'SRU distilled, augmented transfer set',
             'aug_init': 'SRU distilled, augmented + teacher-initialised'}
    for k, v in f.get('augment_variants_dev_acc', {}).items():
        if k in names: rows.append((names[k], v, None, 'C2'))
    if f.get('teacher_phrases_dev_acc') is not None: rows.append(('teacher (MiniLM-L6), on phrases', f['teacher_phrases_dev_acc'], None, 'C4'))
    for k, (_, label) in PHRASE_STUDENTS.items():
        if f.get(f'{k}_dev_acc') is not None: rows.append((label + ', on phrases', f[f'{k}_dev_acc'], None, 'C4'))
    rows += [(f'{n} (published, {split})', v, None, '0.7') for n, split, v in ANCHORS]
    rows = [r for r in rows if r[1] is not None]
    if rows:
        fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.2))
        y = range(len(rows))[::-1]
        ax.barh(list(y), [r[1] for r in rows], xerr=[r[2] or 0 for r in rows], color=[r[3] for r in rows], capsize=3)
        ax.set_yticks(list(y)); ax.set_yticklabels([r[0] for r in rows], fontsize=8)
        for yy, r in zip(y, rows): ax.text(r[1] + 0.3, yy, f'{r[1]:.1f}', va='center', fontsize=8)
        lo = min(r[1] for r in rows)
        ax.set_xlim(max(0, lo - 8), 100); ax.set_xlabel("SST-2 accuracy (%), dev unless marked\nours: trained on the 6,920 sentences, or 'on phrases' with their 77,625 labelled sub-phrases; published: on GLUE's 67k phrases")
        ax.xaxis.label.set_size(8); fig.tight_layout(); fig.savefig(out_dir / 'accuracy.png', dpi=100); plt.close(fig)
        made['accuracy'] = 'accuracy.png'
    inf = res.get('inference')
    if inf:
        M = inf['models']; names = ['teacher', 'sru', 'lstm']; labels = ['teacher\n(MiniLM-L6)', 'SRU student', 'LSTM student']
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
        sets = [(f"all {inf['threads']} cores", lambda k: M[k])] + ([('1 thread', lambda k: M[k]['one_thread'])] if 'one_thread' in M['sru'] else [])
        width = 0.8 / len(sets)
        for j, (lab, get) in enumerate(sets):
            xs = [i + (j - (len(sets) - 1) / 2) * width for i in range(3)]
            for ax_, key, scale in ((a, 'examples_per_s_b32', 1), (b, 'latency_b1_s', 1000)):
                vals = [scale * get(k)[key] for k in names]
                ax_.bar(xs, vals, width, label=lab, color=f'C{j}')
                for x, v in zip(xs, vals): ax_.text(x, v, f'{v:,.1f}' if v < 100 else f'{v:,.0f}', ha='center', va='bottom', fontsize=7)
        for ax_ in (a, b): ax_.set_xticks(range(3)); ax_.set_xticklabels(labels); ax_.legend(fontsize=8)
        a.set_yscale('log'); _log_ticks(a.yaxis); a.set_title('throughput, batch 32 (examples/s, log)', fontsize=9)
        b.set_title('latency, batch 1 (ms, median)', fontsize=9)
        fig.tight_layout(); fig.savefig(out_dir / 'speed.png', dpi=100); plt.close(fig); made['speed'] = 'speed.png'
    curves = [('teacher', (teacher_of(res) or {}).get('curve'))]
    for label, sel in (('SRU, labels only', {}), ('SRU, distilled α=0.5 T=1', tutorial(cfg)), ('LSTM, labels only', dict(rnn='lstm'))):
        rs = students(res, **sel)
        if rs: curves.append((label + f" (seed {rs[0]['seed']})", rs[0]['curve']))
    curves = [(l, c) for l, c in curves if c]
    if curves:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for l, c in curves: ax.plot([r['step'] for r in c], [r['val_acc'] for r in c], marker='o', label=l)
        ax.set_xlabel('epoch'); ax.set_ylabel('dev accuracy (%)'); ax.legend(fontsize=8); ax.grid(alpha=.3)
        fig.tight_layout(); fig.savefig(out_dir / 'curves.png', dpi=100); plt.close(fig); made['curves'] = 'curves.png'
    p = res.get('padding')
    if p:
        modes = ['fixed', 'dynamic', 'bucket']; P = p['modes']
        fig, axs = plt.subplots(1, 3, figsize=(10, 3))
        for ax_, key, title in zip(axs, ('train_tokens', 'teacher_dev_s', 'student_train_s'),
                                   ('tokens per training epoch', f"teacher inference on dev (s)", f"SRU training, {p['n_student_train']} sentences (s)")):
            vals = [P[m][key] for m in modes]
            ax_.bar(modes, vals, color=['C3', 'C0', 'C2']); ax_.set_title(title, fontsize=9)
            for i, v in enumerate(vals): ax_.text(i, v, f'{v:,.0f}' if v > 100 else f'{v:.1f}', ha='center', va='bottom', fontsize=8)
        fig.tight_layout(); fig.savefig(out_dir / 'padding.png', dpi=100); plt.close(fig); made['padding'] = 'padding.png'
    return made


