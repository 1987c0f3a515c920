"""``setup/bench``: run every ``bench/*.py`` and write ``bench/results.md``.

Each benchmark starts its own Odoo with 2 workers and the queue_job runner on a
throwaway database and prints its figures beside a baseline measured in the
same run (ratios: absolute times drift on a shared machine). This collects what
each printed, with the machine's core count, the date and the commit.

Usage: setup/bench [NAME ...] [--output bench/results.md]
(NAME: a benchmark's file name without .py, e.g. ``events``)
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")


def commit():
    try:
        return subprocess.run(
            ["git", "-C", ROOT, "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def figures(output):
    """The lines a benchmark prints as its result (not the commands it runs)."""
    return [
        line
        for line in output.splitlines()
        if line.strip()
        and not line.startswith(("$ ", "Running as user"))
        and " INFO " not in line
        and " WARNING " not in line
    ]


def previous_sections(path):
    """``{name: text}`` of the benchmark sections already in ``path``."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    blocks = {}
    for chunk in text.split("\n## ")[1:]:
        if chunk.startswith("bench/"):
            name = chunk[len("bench/") :].split(".py", 1)[0]
            blocks[name] = "## " + chunk.rstrip("\n") + "\n\n"
    return blocks


def fault_section():
    """The figures of the last ``setup/test --faults`` run (bench/faults.json)."""
    path = os.path.join(BENCH, "faults.json")
    if not os.path.exists(path):
        return "## Fault injection\n\nNot run yet: `setup/test --faults`.\n"
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    lines = ["## Fault injection (`setup/test --faults`, each scenario's last run)", ""]
    for figures in results:
        name = figures.get("scenario", "?")
        ran = ", ".join(
            f"{key} {figures[key]}" for key in ("date", "commit") if key in figures
        )
        rest = ", ".join(
            f"{key}={value}"
            for key, value in figures.items()
            if key not in ("scenario", "date", "commit")
        )
        lines.append(f"- **{name}** ({ran or 'date unknown'}): {rest}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--output", default=os.path.join(BENCH, "results.md"))
    args = parser.parse_args(argv)
    scripts = sorted(
        path
        for path in glob.glob(os.path.join(BENCH, "*.py"))
        if os.path.basename(path) != "common.py"
    )
    if args.names:
        scripts = [
            path for path in scripts if os.path.basename(path)[:-3] in args.names
        ]
    sections, failed = [], []
    for path in scripts:
        name = os.path.basename(path)[:-3]
        print(f"==> bench/{name}.py", flush=True)
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, path],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        seconds = time.monotonic() - started
        lines = figures(run.stdout)
        for line in lines:
            print(f"    {line}", flush=True)
        if run.returncode:
            failed.append(name)
            lines.append(
                f"FAILED (exit {run.returncode}): {run.stderr.strip().splitlines()[-1:]}"
            )
            print(run.stderr[-2000:], file=sys.stderr)
        sections.append((name, seconds, lines))
    today = datetime.date.today().isoformat()
    blocks = previous_sections(args.output)
    for name, seconds, lines in sections:
        blocks[name] = (
            f"## bench/{name}.py ({seconds:.0f} s; {today}, commit `{commit()}`)\n\n"
            "```\n" + "\n".join(lines) + "\n```\n\n"
        )
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write("# Benchmark results\n\n")
        handle.write(
            f"Written by `setup/bench` on {os.cpu_count()} cores "
            f"({platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}); each section names its run's date and "
            "commit (`setup/bench NAME` runs one again and keeps the others). Every "
            "figure is beside a baseline measured in the same run; the ratios are "
            "what to compare across machines.\n\n"
        )
        for name in sorted(blocks):
            handle.write(blocks[name])
        handle.write(fault_section())
    print(f"==> {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
