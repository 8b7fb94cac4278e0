"""`kubelab new NN NAME`: a new lab's folder that lints and verifies as generated.

The new lab is a copy of kubelab/newlab/, with `${lab_id}` and `${lab_name}` filled in.
It asks for one Deployment, `hello`, of two Ready pods running kubelab's web image; its
one check is data (lab.yaml `expect:`), so the lab has no checker file until the author
writes a check that needs code. The starter asks for one replica (it fails the check),
the solution for two; one known-wrong answer names a label its pods do not have (the API
server refuses it), another asks for three pods. Every text is Korean first, English
beside it, with TODO where the author's own words go. docs/authoring.md goes on from there.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from kubelab import repo
from kubelab.errors import InputError

NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")
SKELETON = Path(__file__).parent / "newlab"


def files(lab_id: str, name: str) -> dict[str, str]:
    """Each file of the new lab, by its path relative to the lab's folder."""
    return {
        str(path.relative_to(SKELETON)): Template(path.read_text(encoding="utf-8")).substitute(
            lab_id=lab_id, lab_name=name
        )
        for path in sorted(SKELETON.rglob("*"))
        if path.is_file()
    }


def new_lab(lab_id: str, name: str) -> Path:
    """Write the new lab's folder; an InputError when the number or name is taken or not one."""
    if not (lab_id.isdigit() and len(lab_id) == 2):
        raise InputError(
            f"not a two-digit lab number: {lab_id!r}", f"두 자리 실습 번호가 아닙니다: {lab_id!r}"
        )
    taken = sorted(repo.labs_dir().glob(f"{lab_id}-*"))
    if taken:
        raise InputError(f"lab {lab_id} exists: {taken[0]}", f"실습 {lab_id}이 이미 있습니다: {taken[0]}")
    if not NAME.fullmatch(name):
        raise InputError(
            f"not a lab name: {name!r} (2-42 lowercase letters, digits and dashes)",
            f"실습 이름이 아닙니다: {name!r} (영어 소문자, 숫자, 대시 2-42자)",
        )
    folder = repo.labs_dir() / f"{lab_id}-{name}"
    for relative, text in files(lab_id, name).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
