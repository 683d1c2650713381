"""Dependency audit that never passes silently.

Runs pip-audit and reads its JSON: known vulnerabilities fail the run; dependencies that could
not be looked up (the vulnerability service is out of reach from some machines) are reported
as NOT CHECKED instead of being counted as clean.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--skip-editable",
            "--progress-spinner",
            "off",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        reason = (run.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: NOT CHECKED - {reason}")
        return 0
    deps = report.get("dependencies", [])
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    vulnerable = [(d["name"], d["version"], v["id"]) for d in deps for v in d.get("vulns", [])]
    for name, version, vuln in vulnerable:
        print(f"pip-audit: {name} {version}: {vuln}")
    checked = len(deps) - len(skipped)
    if vulnerable:
        print(f"pip-audit: FAILED - {len(vulnerable)} known vulnerabilities")
        return 1
    if checked == 0:
        print(
            f"pip-audit: NOT CHECKED - none of {len(deps)} dependencies could be looked up (vulnerability service unreachable)"
        )
    elif skipped:
        print(
            f"pip-audit: PARTIAL - {checked} dependencies clean, {len(skipped)} NOT CHECKED: {', '.join(skipped)}"
        )
    else:
        print(f"pip-audit: {checked} dependencies checked, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
