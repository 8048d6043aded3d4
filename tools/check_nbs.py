"""Find notebook cells that nbdev's docs build would run in full: imports mixed with other code.

nbdev executes every cell that imports something while it renders `show_doc` (so the imports are
there), and warns "Found cells containing imports and other code". Such a cell, say a training demo
that starts with `import time`, then runs again on every docs build. Keep imports in cells of their
own (STYLE.md). Exit status 1 when any cell mixes them.
"""
import ast, sys
from pathlib import Path
from execnb.nbio import read_nb
from nbdev.config import get_config
from nbdev.processors import _do_eval, _ast_contains
from nbdev.process import NBProcessor


def offenders(path:Path) -> list[tuple[int, str]]:
    nb = NBProcessor(path, procs=[], process=True).nb  # parses directives like the docs build does
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code' or not cell.source: continue
        if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'}: continue
        trees = cell.parsed_()
        if trees and _do_eval(cell) and _ast_contains(trees, (ast.Import, ast.ImportFrom)) \
           and _ast_contains(trees, (ast.Expr, ast.Assign)):
            out.append((i, cell.source.splitlines()[0][:70]))
    return out


def main(paths):
    cfg = get_config()
    files = [Path(p) for p in paths] or sorted(cfg.nbs_path.glob('*.ipynb'))
    bad = [(f, i, first) for f in files for i, first in offenders(f)]
    for f, i, first in bad: print(f'{f}: cell {i} mixes imports with other code: {first!r}')
    if bad: print(f'{len(bad)} cells: move their imports into cells of their own'); return 1
    print(f'{len(files)} notebooks: imports are in cells of their own')
    return 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
