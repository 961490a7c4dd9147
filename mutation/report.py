"""The report of ``make mutate``: every mutant that survived, less the ones listed as equivalent.

mutmut (https://github.com/boxed/mutmut) plants one small mistake at a time in a copy of
``derivations/`` (a flipped operator, a changed constant, a dropped argument, ...) and runs the
tests that reach the mutated function, in a forked process; a mutant the tests do not notice
*survives*. Each survivor must either be killed by a new test, or be listed in
``mutation/equivalent.txt`` with the reason it cannot change any result.

Prints the score (killed ÷ mutants the tests reach), the survivors by module and the mutants no
test reaches; exits 1 while any survivor is not listed.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = ROOT / "mutation" / "equivalent.txt"


def equivalents() -> dict[str, str]:
    """``name  # reason`` lines of equivalent.txt (blank lines and lines starting with # skipped)."""
    out = {}
    for line in EQUIVALENT.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(f"{EQUIVALENT.name}: {name.strip()} has no reason")
        out[name.strip()] = reason.strip()
    return out


def results(mutmut: str) -> dict[str, str]:
    proc = subprocess.run([mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"mutmut results failed: {proc.stderr.strip()}")
    status = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m:
            status[m.group(1)] = m.group(2).strip()
    return status


def main() -> int:
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    status = results(mutmut)
    if not status:
        print("no mutants: run `make mutate` first")
        return 1
    listed = equivalents()
    counts = collections.Counter(status.values())
    # a mutant with a verdict: "not checked" ones were left out of this run (`mutmut run NAMES…`)
    reached = sum(n for s, n in counts.items() if s not in ("no tests", "not checked"))
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    survivors = sorted(name for name, s in status.items() if s == "survived" and name not in listed)
    stale = sorted(name for name in listed if status.get(name) != "survived")
    print(f"{len(status)} mutants: " + ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    print(f"score: {killed}/{reached} killed of the mutants the tests reach ({killed / max(reached, 1):.0%}); "
          f"{len(listed)} listed as equivalent")
    by_module = collections.Counter(name.split(".x")[0] for name in survivors)
    for module, n in by_module.most_common():
        print(f"  {n:4d} surviving in {module}")
    for name in survivors:
        print(f"survived: {name}   (mutmut show {name})")
    for name in stale:
        print(f"listed as equivalent but {status.get(name, 'absent')}: {name}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
