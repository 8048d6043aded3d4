#!/usr/bin/env python
"""The deployment benchmark: a trained run's student and teacher as bundles, side by side in one process.

  python bench/deploy.py --run RUN_FOLDER            # RUN_FOLDER: a finished run of configs/tutorial-offline.yaml
  python bench/deploy.py --run RUN_FOLDER --quick    # small slices, to check the code (results under bench/.work/quick)
  python bench/deploy.py --merge-only                # put the last full result into bench/results.json again

It measures, on SST-2 dev:
- parity: each export's probabilities against eager PyTorch (max abs difference), and int8's change in dev accuracy;
- speed: batch-1 latency (median) and batch-32 throughput of the student and the teacher in every runtime each can take
  (the fast ones, built from the weights at load, only the student),
  alternated over two rounds (best kept), on `--threads` threads for torch and onnxruntime alike;
- where the student's batch-1 time goes (torch.profiler), eager and in its fastest runtime (fast-int8);
- a bounded load test of `distillnb serve` on 127.0.0.1: concurrency 1, 8 and 32, with and without micro-batching.
Its result goes to bench/.work/<mode>/results/deploy.json (a job result, as run.py writes them), and in full mode its keys and
the run are merged into bench/results.json (read-modify-write through distillnb.core.atomic_write).
"""
from __future__ import annotations
import argparse, asyncio, json, os, signal, socket, statistics, subprocess, sys, time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from common import ROOT, quiet, work_dir, write_json, peak_rss_mb, loadavg, machine

RUNTIMES = ('torch', 'torchscript', 'onnx', 'int8-torch', 'int8-onnx', 'fast', 'fast-int8')
NAMES = {'torch': 'eager PyTorch', 'torchscript': 'TorchScript', 'onnx': 'onnxruntime', 'int8-torch': 'int8 in torch', 'int8-onnx': 'onnxruntime int8',
         'fast': 'fast (folded embedding, compiled recurrence)', 'fast-int8': 'fast int8'}


def runtimes(b) -> dict:
    "The runtimes `b`'s model takes (the fast ones only a student), each with its function (built once) and the path it takes."
    from distillnb.export import ExportError, runtime_fn
    out = {}
    for rt in RUNTIMES:
        try: fn = runtime_fn(b, rt)
        except ExportError: continue
        if rt.startswith('fast'):
            from distillnb.fast import fast_path
            how = fast_path(int8=rt == 'fast-int8')
        else: how = b.exports.get(rt, {}).get('path', 'the model itself')
        out[rt] = (fn, how)
    return out


def bundles(run: Path, work: Path, force: bool) -> dict:
    "The student (stage `distill`) and the teacher (stage `finetune`) of `run` as bundles with every export, made once."
    from distillnb.deploy import export_run, load_bundle
    out = {}
    for who, stage in (('student', 'distill'), ('teacher', 'finetune')):
        path, s = work / f'{who}-bundle', time.perf_counter()
        if force or not (path / 'manifest.json').exists(): export_run(run, stage, path)
        out[who] = load_bundle(path)
        print(f"{who}: {path} ({time.perf_counter() - s:.0f}s)", flush=True)
    return out


def parity(b, texts: list[str], labels: list[int]) -> dict:
    "Max abs difference of each runtime's probabilities from eager PyTorch, and each runtime's dev accuracy."
    rts = runtimes(b)
    probs = {rt: b.predict_probs(texts, rt, batch_size=64) for rt in rts}
    acc = {rt: 100 * sum(int(i) == l for i, l in zip(p.argmax(-1).tolist(), labels)) / len(labels) for rt, p in probs.items()}
    return {'max_abs_diff': {rt: float((p - probs['torch']).abs().max()) for rt, p in probs.items() if rt != 'torch'},
            'dev_acc': acc, 'n': len(texts), 'paths': {rt: how for rt, (_, how) in rts.items() if rt != 'torch'}}


def batches(b, texts: list[str], size: int) -> list:
    "Padded id batches of `size` sentences, bucketed by length, as `Bundle.predict_probs` makes them."
    from distillnb.deploy import _buckets
    from distillnb.sampler import collate
    ids = [b.text_field.process(t) for t in texts]
    return [collate([(ids[i],) for i in idx], [b.pad])[0] for idx in _buckets([len(i) for i in ids], size)]


def speed(bs: dict, texts: list[str], n_b1: int, rounds: int = 2) -> dict:
    "Batch-32 examples/s and batch-1 median ms for each model and runtime, alternated over `rounds` (best kept)."
    out, fns = {}, {who: runtimes(b) for who, b in bs.items()}
    for rnd in range(rounds):
        for who, b in bs.items():
            b32, b1 = batches(b, texts, 32), batches(b, texts[:n_b1], 1)
            for rt, (fn, _) in fns[who].items():
                for x in b32[:2] + b1[:5]: fn(x)  # warm-up
                s = time.perf_counter()
                for x in b32: fn(x)
                eps = sum(len(x) for x in b32) / (time.perf_counter() - s)
                ts = []
                for x in b1:
                    s = time.perf_counter(); fn(x); ts.append(time.perf_counter() - s)
                r = out.setdefault(who, {}).setdefault(rt, {'examples_per_s_b32': 0.0, 'latency_b1_ms': float('inf'), 'rounds': []})
                r['rounds'].append([eps, 1e3 * statistics.median(ts)])
                r['examples_per_s_b32'], r['latency_b1_ms'] = max(r['examples_per_s_b32'], eps), min(r['latency_b1_ms'], 1e3 * statistics.median(ts))
                print(f"round {rnd}: {who:7} {rt:11} {eps:8.0f} ex/s at 32, {1e3 * statistics.median(ts):7.2f} ms at 1", flush=True)
    return out


KINDS = {'torch': {'input projections (matrix products)': ('aten::mm', 'aten::addmm', 'aten::bmm'),
                   'recurrence (sru package C++ op)': ('sru_cpu::cpu_forward',), 'embedding lookup': ('aten::embedding', 'aten::index_select')},
         'fast-int8': {'layer 2 projection, int8 (quantized::linear_dynamic)': ('quantized::linear_dynamic',),
                       "both layers' recurrences, table lookup included (distillnb_fast::sru_layer, 2 calls; at batch 1 also the last step's "
                       "blocks and the output layer)": ('distillnb_fast::sru_layer',),
                       "the last step's blocks and the output layer, float32 (aten::mm, aten::addmm, above batch 4)": ('aten::mm', 'aten::addmm')}}


def breakdown(b, texts: list[str], rt: str = 'torch', size: int = 1) -> dict:
    "Where the student's time goes at batch `size` in runtime `rt` (eager or fast-int8), in ms per sentence: torch.profiler's self CPU time per kind of op."
    import torch
    from torch.profiler import profile
    from distillnb.fast import fast_student
    xs = batches(b, texts, size)
    m = b.model.eval() if rt == 'torch' else fast_student(b.model, int8=rt == 'fast-int8')[0]
    with torch.inference_mode():
        for x in xs[:10]: m(x)
        s = time.perf_counter()
        for x in xs: m(x)
        wall = (time.perf_counter() - s) / len(xs)
        with profile() as p:
            for x in xs: m(x)
    per = {k: 0.0 for k in KINDS[rt]}; total = 0.0
    for e in p.key_averages():
        total += e.self_cpu_time_total
        for k, names in KINDS[rt].items():
            if e.key in names: per[k] += e.self_cpu_time_total
    n = sum(len(x) for x in xs)
    per = {k: v / 1e3 / n for k, v in per.items()}
    per['every other op'] = total / 1e3 / n - sum(per.values())
    tok = time.perf_counter()
    for t in texts: b.text_field.process(t)
    return {'runtime': rt, 'batch_size': size, 'wall_ms': 1e3 * wall * len(xs) / n, 'profiled_ms': total / 1e3 / n, 'ops_ms': per, 'tokenize_ms': 1e3 * (time.perf_counter() - tok) / len(texts),
            'tokens_mean': statistics.mean(int(l) for x in xs for l in (x != b.pad).sum(1)), 'n': n}


def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


async def _post(conn, body: bytes) -> int:
    "One POST /predict on a kept-alive connection: its HTTP status (a bare client: httpx would cost the shared CPU more than the server)."
    r, w = conn
    w.write(b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))
    await w.drain()
    status, length = int((await r.readline()).split()[1]), 0
    while (line := await r.readline()) not in (b'\r\n', b''):
        if line.lower().startswith(b'content-length:'): length = int(line.split(b':')[1])
    await r.readexactly(length)
    return status


async def _load(port: int, texts: list[str], concurrency: int, n: int, limit_s: float) -> dict:
    "`n` single-sentence requests from `concurrency` clients at once (one connection each), stopped after `limit_s` seconds."
    lat, fails, todo = [], 0, iter(range(n))
    async def client_loop():
        nonlocal fails
        conn = await asyncio.open_connection('127.0.0.1', port)
        for i in todo:
            s = time.perf_counter()
            try: ok = await _post(conn, json.dumps({'texts': [texts[i % len(texts)]]}).encode()) == 200
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                ok = False; conn = await asyncio.open_connection('127.0.0.1', port)
            if ok: lat.append(time.perf_counter() - s)
            else: fails += 1
        conn[1].close()
    s = time.perf_counter()
    try: await asyncio.wait_for(asyncio.gather(*(client_loop() for _ in range(concurrency))), limit_s)
    except asyncio.TimeoutError: pass
    wall = time.perf_counter() - s
    lat.sort()
    q = lambda f: 1e3 * lat[min(len(lat) - 1, int(f * len(lat)))] if lat else None
    return {'requests': len(lat) + fails, 'failed': fails, 'requests_per_s': len(lat) / wall, 'p50_ms': q(0.5), 'p99_ms': q(0.99)}


def service(bundle: Path, runtime: str, texts: list[str], n: int, threads: int) -> dict:
    "The load test: one `distillnb serve` per setting on a free 127.0.0.1 port, stopped with SIGTERM."
    import httpx
    out = {}
    for mode, wait in (('micro-batching', 2.0), ('one call per request', 0.0)):
        port = _free_port()
        cmd = [sys.executable, '-c', 'import sys; from distillnb.cli import main; sys.exit(main(sys.argv[1:]))', 'serve', str(bundle),
               '--port', str(port), '--runtime', runtime, '--max-wait-ms', str(wait)]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            for _ in range(600):
                if proc.poll() is not None: raise RuntimeError(f"distillnb serve stopped: {proc.stdout.read()[-2000:]}")
                try: httpx.get(f'http://127.0.0.1:{port}/health', timeout=1); break
                except httpx.TransportError: time.sleep(0.2)
            res = {c: asyncio.run(_load(port, texts, c, n, 60)) for c in (1, 8, 32)}
            res['metrics'] = httpx.get(f'http://127.0.0.1:{port}/metrics').json()
            proc.send_signal(signal.SIGTERM)
            res['exit_status'] = proc.wait(30)
        finally:
            if proc.poll() is None: proc.kill()
        out[mode] = res
        print(mode, {c: {k: round(v, 2) if isinstance(v, float) else v for k, v in res[c].items()} for c in (1, 8, 32)}, flush=True)
    return out


def figures(r: dict) -> dict:
    "The top-level keys this benchmark owns in bench/results.json."
    sp, st = r['speed'], r['parity']['student']
    best = lambda who, key, f: f(v[key] for v in sp[who].values())
    svc = r['service']
    return {'export_max_abs_diff_onnx': st['max_abs_diff']['onnx'], 'export_max_abs_diff_torchscript': st['max_abs_diff']['torchscript'],
            'int8_dev_acc_delta': st['dev_acc']['int8-onnx'] - st['dev_acc']['torch'],
            'int8_torch_dev_acc_delta': st['dev_acc']['int8-torch'] - st['dev_acc']['torch'],
            'export_max_abs_diff_fast': st['max_abs_diff']['fast'], 'fast_int8_dev_acc_delta': st['dev_acc']['fast-int8'] - st['dev_acc']['torch'],
            'student_over_teacher_throughput_b32_best': best('student', 'examples_per_s_b32', max) / best('teacher', 'examples_per_s_b32', max),
            'student_over_teacher_latency_b1_best': best('teacher', 'latency_b1_ms', min) / best('student', 'latency_b1_ms', min),
            'service_p99_ms_c8': svc['micro-batching'][8]['p99_ms'],
            'service_failed_requests': sum(svc[m][c]['failed'] for m in svc for c in (1, 8, 32))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', default=str(ROOT / 'runs' / 'tutorial-offline'), help='a finished run of configs/tutorial-offline.yaml')
    ap.add_argument('--threads', type=int, default=1, help='torch and onnxruntime threads (default 1, as bench/run.py: on a shared machine, threads that wait for each other distort the most)')
    ap.add_argument('--quick', action='store_true', help='small slices: check the code, the figures mean little')
    ap.add_argument('--force', action='store_true', help='export the bundles again')
    ap.add_argument('--serve-runtime', default=None, help="the service's runtime (default: the student's fastest at batch 1)")
    ap.add_argument('--merge-only', action='store_true', help="only merge the last result (bench/.work/full/results/deploy.json) into "
                    "bench/results.json again, e.g. after `run.py --render-only` rewrote it")
    args = ap.parse_args()
    if args.merge_only: return merge(json.loads((work_dir(False) / 'results' / 'deploy.json').read_text()))
    quiet()
    import torch
    torch.set_num_threads(args.threads)
    from distillnb.sst import SSTDataset
    work = work_dir(args.quick); (work / 'deploy').mkdir(exist_ok=True)
    la0, s0 = loadavg(), time.perf_counter()
    bs = bundles(Path(args.run), work / 'deploy', args.force)
    rows = SSTDataset(transform={'text': bs['student'].text_field, 'label': bs['student'].label_field}).val.rows
    rows = rows[::max(1, len(rows) // 96)] if args.quick else rows
    texts, gold = [r[0] for r in rows], [bs['student'].labels.index(str(r[1]).strip()) for r in rows]
    r = {'parity': {who: parity(b, texts, gold) for who, b in bs.items()}}
    r['speed'] = speed(bs, texts[:128] if args.quick else texts[:512], 16 if args.quick else 200)
    r['breakdown'] = breakdown(bs['student'], texts[:200])
    r['breakdown_fast'] = breakdown(bs['student'], texts[:200], 'fast-int8')
    r['breakdown_fast_b32'] = breakdown(bs['student'], texts[:512], 'fast-int8', 32)
    rt = args.serve_runtime or min(r['speed']['student'], key=lambda k: r['speed']['student'][k]['latency_b1_ms'])
    r['service'] = service(bs['student'].path, rt, texts, 40 if args.quick else 400, args.threads)
    r['service_runtime'] = rt
    r['bundle_mb'] = {who: {p.name: p.stat().st_size / 1e6 for p in b.path.iterdir() if p.is_file() and p.name != 'manifest.json'}
                      | {'weights': (b.path / 'model' / 'weights.pt').stat().st_size / 1e6} for who, b in bs.items()}
    r['figures'] = figures(r)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    r.update(job='deploy', kwargs={'threads': args.threads, 'quick': args.quick}, torch_threads=torch.get_num_threads(),
             wall_s=time.perf_counter() - s0, peak_rss_mb=peak_rss_mb(), loadavg_start=la0, loadavg_end=loadavg(),
             finished=time.strftime('%Y-%m-%d %H:%M:%S'), commit=commit, machine=machine(), date=time.strftime('%Y-%m-%d %H:%M %Z'))
    write_json(work / 'results' / 'deploy.json', r)
    if not args.quick: merge(r)
    print(json.dumps(r['figures'], indent=1))


def merge(r: dict):
    "Put this run's keys and its result (as `runs.deploy`) into bench/results.json, keeping everything else."
    from distillnb.core import atomic_write
    path = BENCH / 'results.json'
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(r['figures']); data.setdefault('runs', {})['deploy'] = r
    atomic_write(path, json.dumps(data, indent=1, default=float))


if __name__ == '__main__':
    main()
