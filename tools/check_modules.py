"""Keep the library's modules small: each generated module in `distillnb/` under a line limit.

One mechanism, one home, and no module that holds several jobs (CONTRIBUTING.md has the map). nbdev's
`_modidx.py` is an index, not code, and does not count. Exit status 1 when a module is over the limit.
"""
import argparse, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--limit', type=int, default=400, help='the most lines a module may have')
    args = ap.parse_args()
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines())
             for p in sorted((ROOT/'distillnb').rglob('*.py')) if p.name != '_modidx.py'}
    over = {p: n for p, n in sizes.items() if n > args.limit}
    for p, n in over.items(): print(f'{p}: {n} lines, over {args.limit}: split it by what it owns (see CONTRIBUTING.md)')
    print(f'{len(sizes)} modules, the largest {max(sizes.values())} lines' + ('' if over else f', all under {args.limit}'))
    sys.exit(1 if over else 0)


if __name__ == '__main__': main()
