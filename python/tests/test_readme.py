"""The README's pytest example runs as written: its data check and model check pass on the
bundled wine data, with the model `mlprobe train` writes."""

from __future__ import annotations

import os
import re


def test_the_readme_example_passes(root, cli, tmp_path):
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## From Python and Spark"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "data").symlink_to(root / "data")
    status, _, err = cli("train", "--data", "data/wine.csv", "--out", str(tmp_path / "wine.mlpb"),
                         json_flag=False)
    assert status == 0, err
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), namespace)
        tests = [f for name, f in namespace.items() if name.startswith("test_")]
        assert len(tests) == 2
        for test in tests:
            test()
    finally:
        os.chdir(cwd)
