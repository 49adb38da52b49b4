"""Time posenc-lint against its peers on the pinned corpora and write benchmarks/RESULTS.md.

    python benchmarks/peers.py                      # timm and transformers, 3 rounds
    python benchmarks/peers.py --packages timm --rounds 5
    python benchmarks/peers.py --slow-rounds 1      # TorchFix once per tree

The script fetches the corpora with corpus/check_corpus.py's helpers (into
.corpus-cache/), builds one virtual environment per peer under
.bench-cache/ (TorchFix pins libcst<1.6 and registers a flake8 plugin, so the
plain flake8 baseline gets an environment without it), and runs every command
in rounds, in a different order each round, so a slow moment of the machine
does not fall on one tool only. It prints medians and writes the table, the
speed ratios against each target, the versions and the commands to
RESULTS.md. Nothing here asserts a time: the numbers are for people.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "corpus"))

import check_corpus  # noqa: E402 - the corpus helpers live beside the corpus data

ENVS = REPO / ".bench-cache"
FLAKE8_VERSION = "7.5.0"  # the same flake8 in every environment
PEERS = {
    "torchfix": ["torchfix==0.7.0", f"flake8=={FLAKE8_VERSION}"],
    "flake8": [f"flake8=={FLAKE8_VERSION}"],
    "flake8-posenc": [f"flake8=={FLAKE8_VERSION}", "-e", str(REPO)],
    "posenc": ["-e", str(REPO)],
    "ruff": ["ruff==0.17.6"],
    "fixit": ["fixit==2.2.1"],
}
SLOW = {"torchfix", "flake8+torchfix", "fixit"}


@dataclass
class Command:
    name: str
    argv: List[str]
    cwd: Path
    env: Dict[str, str] = field(default_factory=dict)
    # Run once before timing (fills a cache for the warm runs).
    prepare: Optional[List[str]] = None
    times: List[float] = field(default_factory=list)
    peak_rss_mib: Optional[float] = None
    exit_codes: List[int] = field(default_factory=list)


def venv(name: str) -> Path:
    """Create (once) the environment of one peer and return its bin folder."""
    folder = ENVS / name
    bin_folder = folder / "bin"
    marker = folder / ".installed"
    requested = " ".join(PEERS[name])
    if marker.is_file() and marker.read_text() == requested:
        return bin_folder
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    subprocess.run([str(bin_folder / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(bin_folder / "python"), "-m", "pip", "install", "--quiet", *PEERS[name]], check=True)
    marker.write_text(requested)
    return bin_folder


def version_of(bin_folder: Path, package: str) -> str:
    result = subprocess.run(
        [str(bin_folder / "python"), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or "?"


# Baselines run inside the posenc environment, which has LibCST.
PARSE_SCRIPT = r"""
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

def parse(path, metadata):
    import libcst as cst
    module = cst.parse_module(Path(path).read_bytes())
    if metadata:
        from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        wrapper.resolve_many([PositionProvider, QualifiedNameProvider])
    return 0

if __name__ == "__main__":
    metadata = sys.argv[1] == "metadata"
    files = sorted(str(path) for path in Path(sys.argv[2]).rglob("*.py"))
    with ProcessPoolExecutor(2) as pool:
        failures = 0
        for future in [pool.submit(parse, path, metadata) for path in files]:
            try:
                future.result()
            except Exception:
                failures += 1
    print(f"{len(files)} files, {failures} not parsed")
"""

SCAN_SCRIPT = r"""
import re, sys
from pathlib import Path
pattern = re.compile(rb"pos_?emb|position|sinusoid")
hits = sum(1 for path in Path(sys.argv[1]).rglob("*.py") if pattern.search(path.read_bytes()))
print(hits)
"""

# Runs a command and prints the largest resident set of any of its processes.
PEAK_SCRIPT = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def commands_for(tree: Path, envs: Dict[str, Path], scratch: Path) -> List[Command]:
    posenc = envs["posenc"]
    cache_dir = scratch / f"cache-{tree.name}"
    plain_env = {"POSENC_LINT_NO_CACHE": ""}
    return [
        Command("posenc-lint (cold, no cache)", [str(posenc / "posenc-lint"), "--isolated", "--no-cache", "-q", str(tree)], tree.parent, plain_env),
        Command(
            "posenc-lint (warm cache)",
            [str(posenc / "posenc-lint"), "--isolated", "--cache-dir", str(cache_dir), "-q", str(tree)],
            tree.parent,
            plain_env,
            prepare=[str(posenc / "posenc-lint"), "--isolated", "--cache-dir", str(cache_dir), "-q", str(tree)],
        ),
        Command("TorchFix standalone", [str(envs["torchfix"] / "torchfix"), str(tree)], tree.parent),
        Command("flake8 + TorchFix plugin, -j 2", [str(envs["torchfix"] / "flake8"), "-j", "2", str(tree)], tree.parent),
        Command("flake8 (pycodestyle + pyflakes), -j 2", [str(envs["flake8"] / "flake8"), "-j", "2", str(tree)], tree.parent),
        Command("flake8 + posenc-lint plugin, -j 2", [str(envs["flake8-posenc"] / "flake8"), "-j", "2", str(tree)], tree.parent, plain_env),
        Command("Fixit 2.2.1", [str(envs["fixit"] / "fixit"), "lint", str(tree)], tree.parent),
        Command("Ruff (no cache)", [str(envs["ruff"] / "ruff"), "check", "--isolated", "--no-cache", "--quiet", str(tree)], tree.parent),
        Command(
            "Ruff (warm cache)",
            [str(envs["ruff"] / "ruff"), "check", "--isolated", "--cache-dir", str(scratch / f"ruff-{tree.name}"), "--quiet", str(tree)],
            tree.parent,
            prepare=[str(envs["ruff"] / "ruff"), "check", "--isolated", "--cache-dir", str(scratch / f"ruff-{tree.name}"), "--quiet", str(tree)],
        ),
        Command("LibCST parse_module, 2 processes", [str(posenc / "python"), "-c", PARSE_SCRIPT, "parse", str(tree)], tree.parent),
        Command(
            "LibCST parse + Position + QualifiedName, 2 processes",
            [str(posenc / "python"), "-c", PARSE_SCRIPT, "metadata", str(tree)],
            tree.parent,
        ),
        Command("read every file + regular expression", [str(posenc / "python"), "-c", SCAN_SCRIPT, str(tree)], tree.parent),
    ]


def single_file_commands(path: Path, envs: Dict[str, Path]) -> List[Command]:
    return [
        Command("flake8 alone, largest modeling file", [str(envs["flake8"] / "flake8"), str(path)], path.parent),
        Command(
            "flake8 + posenc-lint plugin, largest modeling file",
            [str(envs["flake8-posenc"] / "flake8"), str(path)],
            path.parent,
            {"POSENC_LINT_NO_CACHE": ""},
        ),
        Command(
            "posenc-lint alone, largest modeling file",
            [str(envs["posenc"] / "posenc-lint"), "--isolated", "--no-cache", "-q", str(path)],
            path.parent,
        ),
    ]


def run_rounds(commands: List[Command], rounds: int, slow_rounds: int, seed: int) -> None:
    shuffle = random.Random(seed)
    for command in commands:
        if command.prepare:
            subprocess.run(command.prepare, cwd=command.cwd, env={**os.environ, **command.env}, capture_output=True)
    for round_number in range(rounds):
        order = list(commands)
        shuffle.shuffle(order)
        for command in order:
            if _is_slow(command) and round_number >= slow_rounds:
                continue
            env = {**os.environ, **command.env}
            start = time.perf_counter()
            completed = subprocess.run(command.argv, cwd=command.cwd, env=env, capture_output=True)
            elapsed = time.perf_counter() - start
            command.times.append(elapsed)
            command.exit_codes.append(completed.returncode)
            print(f"  round {round_number + 1}: {command.name}: {elapsed:.2f} s (exit {completed.returncode})", flush=True)


def _is_slow(command: Command) -> bool:
    return command.name.startswith(("TorchFix", "flake8 + TorchFix", "Fixit", "LibCST parse + Position"))


def measure_peak(command: Command) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, *command.argv],
        cwd=command.cwd,
        env={**os.environ, **command.env},
        capture_output=True,
        text=True,
    )
    try:
        command.peak_rss_mib = int(completed.stdout.strip()) / 1024
    except ValueError:
        command.peak_rss_mib = None


def median(command: Command) -> Optional[float]:
    return statistics.median(command.times) if command.times else None


def tree_stats(tree: Path):
    files = list(tree.rglob("*.py"))
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    return len(files), lines


def lsp_figure() -> Optional[str]:
    script = HERE / "lsp_latency.py"
    if not script.is_file():
        return None
    completed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return lines[-1] if completed.returncode == 0 and lines else f"lsp_latency.py failed: {completed.stderr[-300:]}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", nargs="+", default=["timm", "transformers"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slow-rounds", type=int, default=1, help="rounds for TorchFix, flake8 + TorchFix, Fixit and the LibCST metadata baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fixit-packages",
        nargs="*",
        default=["timm"],
        help="trees to run Fixit on (default: timm). No target names Fixit, and it takes minutes on transformers",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    arguments = parser.parse_args(argv)

    shared = check_corpus.DEFAULT_SHARED
    packages = {
        package.key: package
        for package in check_corpus.parse_packages((shared / "corpus" / "packages.txt").read_text())
    }
    envs = {name: venv(name) for name in PEERS}
    versions = {
        "posenc-lint": version_of(envs["posenc"], "posenc-lint"),
        "libcst (posenc-lint)": version_of(envs["posenc"], "libcst"),
        "TorchFix": version_of(envs["torchfix"], "torchfix"),
        "libcst (TorchFix)": version_of(envs["torchfix"], "libcst"),
        "flake8": version_of(envs["flake8"], "flake8"),
        "pycodestyle": version_of(envs["flake8"], "pycodestyle"),
        "pyflakes": version_of(envs["flake8"], "pyflakes"),
        "Ruff": version_of(envs["ruff"], "ruff"),
        "Fixit": version_of(envs["fixit"], "fixit"),
    }
    scratch = Path(tempfile.mkdtemp(prefix="posenc-bench-"))
    report: Dict[str, object] = {"versions": versions, "trees": {}}
    for key in arguments.packages:
        package = packages[check_corpus.normalize_name(key)]
        root = check_corpus.prepare_package(package, check_corpus.DEFAULT_CACHE)
        tree = root / package.key.replace("-", "_")
        if not tree.is_dir():
            tree = root
        # Copy the tree so the tools' caches and bytecode land outside .corpus-cache.
        copy = scratch / package.folder_name / tree.name
        shutil.copytree(tree, copy)
        files, lines = tree_stats(copy)
        print(f"{package.requirement}: {files} files, {lines} lines", flush=True)
        commands = commands_for(copy, envs, scratch)
        if package.key not in [check_corpus.normalize_name(name) for name in arguments.fixit_packages]:
            commands = [command for command in commands if not command.name.startswith("Fixit")]
        run_rounds(commands, arguments.rounds, arguments.slow_rounds, arguments.seed)
        measure_peak(commands[0])
        entry = {
            "requirement": package.requirement,
            "files": files,
            "lines": lines,
            "commands": [_command_json(command) for command in commands],
        }
        if package.key == "transformers":
            largest = max(copy.glob("models/*/modeling_*.py"), key=lambda path: path.stat().st_size)
            single = single_file_commands(largest, envs)
            run_rounds(single, max(arguments.rounds, 5), max(arguments.rounds, 5), arguments.seed)
            entry["largest_file"] = {
                "path": str(largest.relative_to(copy)),
                "bytes": largest.stat().st_size,
                "commands": [_command_json(command) for command in single],
            }
        report["trees"][package.key] = entry
    report["lsp"] = lsp_figure()
    arguments.json.write_text(json.dumps(report, indent=2) + "\n")
    arguments.output.write_text(render(report, arguments) + _discussion(arguments.output))
    print(f"wrote {arguments.output}")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


DISCUSSION_HEADING = "## Discussion"


def _discussion(output: Path) -> str:
    """Return the hand-written discussion at the end of the previous results, kept across runs."""
    try:
        previous = output.read_text()
    except OSError:
        return ""
    start = previous.find(DISCUSSION_HEADING)
    return "\n" + previous[start:] if start >= 0 else ""


def _command_json(command: Command) -> dict:
    return {
        "name": command.name,
        "argv": [Path(part).name if os.sep in part and not part.startswith("-") else part for part in command.argv if not part.startswith("\n")],
        "times": command.times,
        "median": median(command),
        "exit_codes": command.exit_codes,
        "peak_rss_mib": command.peak_rss_mib,
    }


def render(report: Dict[str, object], arguments: argparse.Namespace) -> str:
    lines = [
        "# posenc-lint against its peers",
        "",
        "Written by `python benchmarks/peers.py`"
        f" (`--rounds {arguments.rounds} --slow-rounds {arguments.slow_rounds}`); every figure is"
        " the median wall time of the runs listed, measured side by side in one run of the script,"
        " in a shuffled order each round. Raw times are in `benchmarks/results.json`.",
        "",
        "## Machine",
        "",
        f"- {platform.platform()}, Python {platform.python_version()}",
        f"- {os.cpu_count()} CPUs, {_memory_gib():.0f} GiB memory",
        f"- measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "## Versions",
        "",
    ]
    lines += [f"- {name}: {version}" for name, version in report["versions"].items()]
    for key, entry in report["trees"].items():
        lines += ["", f"## {entry['requirement']}: {entry['files']} files, {entry['lines']:,} lines", ""]
        lines += ["| command | runs | median (s) |", "|---|---|---|"]
        for command in entry["commands"]:
            shown = "n/a" if command["median"] is None else f"{command['median']:.2f}"
            lines.append(f"| {command['name']} | {len(command['times'])} | {shown} |")
        by_name = {command["name"]: command["median"] for command in entry["commands"]}
        lines += ["", "Targets:", ""]
        lines += _targets(by_name, entry)
        peak = entry["commands"][0]["peak_rss_mib"]
        if peak is not None:
            lines.append(f"- Peak memory of the largest posenc-lint process (cold run): {peak:.0f} MiB (target: under 200 MiB)")
        largest = entry.get("largest_file")
        if largest:
            single = {command["name"]: command["median"] for command in largest["commands"]}
            alone = single["flake8 alone, largest modeling file"]
            plugin = single["flake8 + posenc-lint plugin, largest modeling file"]
            lines += [
                "",
                f"Largest modeling file, `{largest['path']}` ({largest['bytes']:,} bytes):",
                "",
            ]
            lines += [f"- {name}: {value:.2f} s" for name, value in single.items() if value is not None]
            if alone and plugin:
                added = plugin - alone
                lines.append(
                    f"- the plugin adds {added:.2f} s, {added / alone:.2f} of flake8's own time "
                    f"(target: under 0.33): {'met' if added / alone < 1 / 3 else 'missed'}"
                )
    if report.get("lsp"):
        lines += ["", "## Language server", "", f"- {report['lsp']}"]
    lines += ["", "## Commands", ""]
    for key, entry in report["trees"].items():
        for command in entry["commands"]:
            lines.append(f"- {command['name']}: `{' '.join(command['argv'])}`")
        break
    return "\n".join(lines) + "\n"


def _targets(by_name: Dict[str, Optional[float]], entry: dict) -> List[str]:
    cold = by_name["posenc-lint (cold, no cache)"]
    warm = by_name["posenc-lint (warm cache)"]
    out = []

    def ratio_line(label, peer_name, needed, faster=True):
        peer = by_name.get(peer_name)
        if peer is None or cold is None:
            out.append(f"- {label}: not measured")
            return
        ratio = peer / cold
        status = "met" if ratio >= needed else f"missed by a factor of {needed / ratio:.2f}"
        out.append(f"- {label}: {ratio:.1f} times faster (target: {needed:g}): {status}")

    ratio_line("Cold run against TorchFix standalone", "TorchFix standalone", 40)
    ratio_line("Cold run against flake8's default checks", "flake8 (pycodestyle + pyflakes), -j 2", 3)
    ratio_line("Cold run against parsing every file with LibCST", "LibCST parse_module, 2 processes", 1)
    for ruff_name in ("Ruff (warm cache)", "Ruff (no cache)"):
        ruff = by_name.get(ruff_name)
        if ruff and warm:
            status = "met" if warm <= 1.5 * ruff else f"missed: {warm / ruff:.2f} times"
            out.append(f"- Warm run against {ruff_name}: {warm / ruff:.2f} times Ruff's time (target: at most 1.5): {status}")
    plain = by_name.get("flake8 (pycodestyle + pyflakes), -j 2")
    plugin = by_name.get("flake8 + posenc-lint plugin, -j 2")
    if plain and plugin:
        status = "met" if plugin <= 1.3 * plain else "missed"
        out.append(f"- flake8 with the plugin against flake8 alone: {plugin / plain:.2f} times (target: at most 1.3): {status}")
    return out


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        return 0.0


if __name__ == "__main__":
    sys.exit(main())
