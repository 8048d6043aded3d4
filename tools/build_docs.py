"""Build the docs site into `_docs/` and README.md from `nbs/index.ipynb`, with no Quarto.

Where Quarto is installed, `nbdev_docs` is the build to use. This script is the offline one:
1. nbdev's own notebook processing (`proc_nbs`): `#| hide` cells dropped, `show_doc` cells added and
   run, front matter made from each notebook's title cell, into `_proc/`;
2. the Quarto cell options nbdev leaves for Quarto (`echo: false`, `output: false`, `include: false`)
   applied, and Pandoc-only link attributes turned into HTML;
3. nbconvert's HTML exporter (template `tools/docs_template`, which extends JupyterLab's) writes one
   page per notebook, with a sidebar, and no script from a CDN; MathJax is served from `_docs/mathjax`
   when npm could fetch a copy into `~/.cache/distillnb/`;
4. nbconvert's Markdown exporter writes README.md from the processed `index.ipynb`.
"""
import html, os, re, shutil, subprocess, sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, MarkdownExporter
from nbconvert.preprocessors import Preprocessor
from nbdev.config import get_config
from nbdev.doclinks import _build_modidx
from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
from nbdev.serve import proc_nbs
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent/'docs_template'
MATHJAX_CACHE = Path(os.environ.get('XDG_CACHE_HOME', Path.home()/'.cache'))/'distillnb'/'mathjax'


def _front_matter(nb):
    "The YAML front matter nbdev puts in the first raw cell, and the cells after it."
    cells = nb.cells
    if cells and cells[0].cell_type == 'raw' and cells[0].source.startswith('---'):
        return yaml.safe_load(cells[0].source.strip().strip('-')) or {}, cells[1:]
    return {}, cells


_directive = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_attr_link = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^{}\n]*)\}')  # [text](url){key="v" ...}


def _pandoc_links_to_html(md:str) -> str:
    "Pandoc's `[text](url){target=... style=...}`, which Markdown renderers other than Quarto print as is."
    def sub(m):
        attrs = ' '.join(f'{k}="{html.escape(v)}"' for k, v in re.findall(r'([\w-]+)="([^"]*)"', m[3]))
        return f'<a href="{html.escape(m[2])}" {attrs}>{m[1]}</a>'
    return _attr_link.sub(sub, md)


class QuartoCellOptions(Preprocessor):
    "Apply the Quarto cell options that nbdev leaves in processed notebooks, and localise doc links."
    site_url = ''  # links to the published site become relative links within `_docs/`

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == 'markdown':
            cell.source = self._local(_pandoc_links_to_html(cell.source))
            return cell, resources
        if cell.cell_type != 'code': return cell, resources
        opts, body = {}, []
        for line in cell.source.splitlines():
            m = _directive.match(line)
            if m and not body: opts[m[1].lower()] = m[2].lower()
            else: body.append(line)
        cell.source = '\n'.join(body).strip('\n')
        tags = set(cell.metadata.get('tags', []))
        if opts.get('echo') == 'false' or not cell.source: tags.add('remove_input')
        if opts.get('output') == 'false': tags.add('remove_output')
        if opts.get('include') == 'false': tags.add('remove_cell')
        cell.metadata['tags'] = sorted(tags)
        for out in cell.get('outputs', []):
            md = out.get('data', {}).get('text/markdown')
            if md is not None: out['data']['text/markdown'] = self._local(_pandoc_links_to_html(md))
        return cell, resources

    def _local(self, text:str) -> str:
        return text.replace(self.site_url, '') if self.site_url else text


def _exporter(cls, **kw):
    exp = cls(**kw)
    pre = QuartoCellOptions()
    exp.register_preprocessor(pre, enabled=True)
    from nbconvert.preprocessors import TagRemovePreprocessor
    exp.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={'remove_cell'},
                                                    remove_input_tags={'remove_input'},
                                                    remove_all_outputs_tags={'remove_output'}), enabled=True)
    return exp, pre


def _mathjax(docs:Path) -> str:
    "Copy a local MathJax into the site (fetched once with npm into the user's cache); '' when none can be had."
    src = MATHJAX_CACHE/'node_modules'/'mathjax'/'es5'
    if not (src/'tex-chtml.js').exists() and shutil.which('npm'):
        print(f'docs: fetching MathJax 3 with npm into {MATHJAX_CACHE} (once)')
        subprocess.run(['npm', 'install', '--silent', '--no-audit', '--no-fund', '--prefix', str(MATHJAX_CACHE),
                        'mathjax@3'], check=False)
    if not (src/'tex-chtml.js').exists():
        print('docs: no MathJax (npm could not fetch it): formulas show as TeX source')
        return ''
    shutil.copytree(src, docs/'mathjax', dirs_exist_ok=True)
    return 'mathjax/tex-chtml.js'


def _pages(proc:Path, cfg):
    "(notebook path, output name, front matter, notebook) for every processed notebook, index first."
    pages = []
    for p in sorted(proc.rglob('*.ipynb')):
        if any(part.startswith(('.', '_')) for part in p.relative_to(proc).parts): continue
        nb = nbformat.read(p, as_version=4)
        fm, _ = _front_matter(nb)
        out = fm.get('output-file') or p.with_suffix('.html').name
        pages.append((p, str(Path(p.relative_to(proc).parent)/out), fm, nb))
    pages.sort(key=lambda o: (o[0].name != cfg.readme_nb, str(o[0].relative_to(proc))))
    return pages


def build_html(proc:Path, docs:Path, cfg) -> list:
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir(parents=True)
    for f in proc.rglob('*'):  # images and other files the notebooks refer to
        if f.is_file() and f.suffix not in ('.ipynb', '.yml') and not f.name.startswith('.'):
            (docs/f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, docs/f.relative_to(proc))
    mathjax = _mathjax(docs)
    pages = _pages(proc, cfg)
    nav = [{'href': out, 'title': fm.get('title', Path(out).stem)} for _, out, fm, _ in pages]
    exp, pre = _exporter(HTMLExporter, template_name='distillnb', extra_template_basedirs=[str(TEMPLATE_DIR)],
                         exclude_anchor_links=False, exclude_input_prompt=True,
                         exclude_output_prompt=True, mathjax_url=mathjax, require_js_url='')
    pre.site_url = (cfg.doc_host + cfg.doc_baseurl)
    written = []
    for path, out, fm, nb in pages:
        nb.cells = _front_matter(nb)[1]
        nb.metadata['title'] = fm.get('title', Path(out).stem)
        body, _ = exp.from_notebook_node(nb, resources={'site': {'title': cfg.title, 'nav': nav, 'current': out,
                                                                'description': fm.get('description', ''),
                                                                'mathjax': mathjax}})
        (docs/out).parent.mkdir(parents=True, exist_ok=True)
        (docs/out).write_text(body, encoding='utf-8')
        written.append(docs/out)
    return written


def build_readme(proc:Path, cfg) -> Path:
    nb = nbformat.read(proc/cfg.readme_nb, as_version=4)
    fm, nb.cells = _front_matter(nb)
    nb.metadata.setdefault('language_info', {'name': 'python'})  # fenced code gets its language
    exp, _ = _exporter(MarkdownExporter)
    body, res = exp.from_notebook_node(nb, resources={'output_files_dir': 'index_files'})
    head = f"# {fm.get('title', cfg.title)}\n\n" + (f"> {fm['description']}\n\n" if fm.get('description') else '')
    readme = cfg.config_path/'README.md'
    readme.write_text(head + re.sub(r'\n{3,}', '\n\n', body).strip() + '\n', encoding='utf-8')
    for name, data in res.get('outputs', {}).items():  # figures in the README's outputs
        (cfg.config_path/name).parent.mkdir(parents=True, exist_ok=True)
        (cfg.config_path/name).write_bytes(data)
    return readme


def main():
    cfg = get_config()
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__()
    proc = proc_nbs(cfg.nbs_path, force=True)
    pages = build_html(proc, cfg.doc_path, cfg)
    readme = build_readme(proc, cfg)
    print(f'docs: {len(pages)} pages in {cfg.doc_path.relative_to(cfg.config_path)}/, '
          f'{readme.relative_to(cfg.config_path)} regenerated')


if __name__ == '__main__': sys.exit(main())
