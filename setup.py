"Packaging for distillnb. Every setting lives in `settings.ini`; edit it there, not here."
from configparser import ConfigParser
from pathlib import Path
import setuptools

here = Path(__file__).parent
parser = ConfigParser(delimiters=['='])
parser.read(here/'settings.ini', encoding='utf-8')
cfg = parser['DEFAULT']

_licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License'),
             'mit': ('MIT License', 'OSI Approved :: MIT License')}
_statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
# nbdev 2.4.14's template stops its classifier list before 3.11; we list the versions we support.
_pythons = ['3.10', '3.11', '3.12', '3.13']

def _ver(s): return tuple(int(p) for p in s.split('.'))

lic = _licenses.get(cfg['license'].lower(), (cfg['license'], None))
readme = here/'README.md'

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    keywords=cfg['keywords'], author=cfg['author'], author_email=cfg['author_email'],
    license=lic[0], url=cfg['git_url'],
    classifiers=['Development Status :: ' + _statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title()]
                + ['Programming Language :: Python :: ' + v for v in _pythons if _ver(v) >= _ver(cfg['min_python'])]
                + (['License :: ' + lic[1]] if lic[1] else []),
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    include_package_data=True,
    install_requires=cfg.get('requirements', '').split(),
    extras_require={k: cfg.get(f'{k}_requirements', '').split() for k in ('dev', 'deploy', 'ray', 'tensorboard')},
    python_requires='>=' + cfg['min_python'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
