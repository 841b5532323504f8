#!/usr/bin/env python3
"""ABI guard of libkt_ffi: compares the exported ABI with the committed baseline (abi/baseline.txt).

The ABI is read from the two things a C program depends on:
  * the header (kt_ffi.h), preprocessed as C11 without KT_TEST_PANIC: every declaration
    (function prototypes without parameter names, typedefs, struct layouts), every enum value
    and every KT_ macro except the KT_VERSION_* ones;
  * the shared library: its exported symbols with their type (`nm -D --defined-only`).

Policy (bindings/c/README.md): an entry of the baseline that is missing or changed is a
backward-incompatible change, allowed only with a higher major version; new entries are
compatible additions and need a higher minor version. The version is the header's
KT_VERSION_* macros (the package version). The check fails whenever the library differs from
the baseline, and says which version rule applies; `--update` rewrites the baseline, and refuses
to when the version was not raised as the rule requires.

Usage:
  abi-check.py --header H --library SO [--baseline B] [--update]
  abi-check.py --header H --library SO --self-test   # proves the check fails on a break
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BASELINE = os.path.join(HERE, "baseline.txt")
CC = os.environ.get("CC", "cc")


def preprocess(header_text, *flags):
    """The header run through the C preprocessor (C11), its #include lines dropped."""
    text = "".join(
        line for line in header_text.splitlines(keepends=True) if not line.lstrip().startswith("#include")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".h", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        return subprocess.run(
            [CC, "-std=c11", "-x", "c", "-E", "-P", *flags, path],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(path)


def strip_param_names(decl):
    """`f(const char*name,size_t len)` -> `f(const char*,size_t)`: names are not ABI."""

    def params(match):
        out = []
        for p in match.group(1).split(","):
            m = re.fullmatch(r"(.*[\w*])\s*\b([A-Za-z_]\w*)", p)
            out.append(m.group(1) if m and re.search(r"\w", m.group(1)) else p)
        return "(" + ",".join(out) + ")"

    return re.sub(r"\(([^()]*)\)", params, decl)


def normalize(text):
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s*([(),*;{}\[\]=:])\s*", r"\1", text)


def header_entries(header_text):
    """(version tuple, set of ABI entries) of a header."""
    entries = set()
    version = {}
    for line in preprocess(header_text, "-dM").splitlines():
        m = re.fullmatch(r"#define (KT_\w+) (.*)", line)
        if not m or m.group(1) == "KT_FFI_H":
            continue
        name, value = m.groups()
        if name.startswith("KT_VERSION_"):
            version[name] = value
        else:
            entries.add(f"macro {name} {value}")
    try:
        ver = tuple(int(version[f"KT_VERSION_{p}"]) for p in ("MAJOR", "MINOR", "PATCH"))
    except (KeyError, ValueError):
        sys.exit("abi-check: the header has no KT_VERSION_MAJOR/MINOR/PATCH macros")

    body = normalize(preprocess(header_text))
    depth, start = 0, 0
    for i, c in enumerate(body):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            decl = body[start : i + 1]
            start = i + 1
            enum = re.fullmatch(r"enum (\w+)(?::[\w ]+)?\{(.*)\};", decl)
            if enum:
                for value in filter(None, enum.group(2).split(",")):
                    entries.add(f"enum {enum.group(1)} {value}")
            else:
                entries.add(f"decl {strip_param_names(decl)}")
    return ver, entries


def library_entries(library):
    out = subprocess.run(
        ["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True
    ).stdout
    entries = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            entries.add(f"symbol {fields[1]} {fields[2]}")
    return entries


def read_baseline(path):
    version, entries = None, set()
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("version "):
                version = tuple(int(x) for x in line.split()[1].split("."))
            else:
                entries.add(line)
    if version is None:
        sys.exit(f"abi-check: {path} has no version line")
    return version, entries


def write_baseline(path, version, entries):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(
            "# ABI baseline of libkt_ffi: what programs built against this version rely on.\n"
            "# Written by bindings/c/abi/abi-check.py --update; checked in CI. Policy: bindings/c/README.md.\n"
        )
        f.write("version " + ".".join(map(str, version)) + "\n")
        for e in sorted(entries):
            f.write(e + "\n")
    os.replace(tmp, path)


def verdict(base_version, base, version, current):
    """(ok_to_record, message) for moving from the baseline to the current ABI."""
    removed, added = sorted(base - current), sorted(current - base)
    v = lambda t: ".".join(map(str, t))
    lines = [f"  removed or changed: {e}" for e in removed] + [f"  added: {e}" for e in added]
    detail = "\n".join(lines)
    if removed:
        if version[0] > base_version[0]:
            return True, f"incompatible ABI change with major version {version[0]} > {base_version[0]}:\n{detail}"
        return False, (
            f"BACKWARD-INCOMPATIBLE ABI change at {v(version)} (baseline {v(base_version)}): raise the "
            f"major version (workspace version in Cargo.toml), regenerate the header, then run --update\n{detail}"
        )
    if added:
        if version[:2] > base_version[:2]:
            return True, f"compatible additions with version {v(version)} > {v(base_version)}:\n{detail}"
        return False, (
            f"ABI additions at {v(version)} (baseline {v(base_version)}): raise the minor version, "
            f"regenerate the header, then run --update\n{detail}"
        )
    return True, f"ABI identical to the baseline (version {v(base_version)})"


def self_test(header_text, library_set, base_version, base):
    """Breaks a copy of the header and of the symbol list; the check must refuse each."""
    version, current = header_entries(header_text)
    cases = {
        "a function removed from the header": re.sub(
            r"kt_status kt_key_sign\(.*?\);", "", header_text, count=1, flags=re.S
        ),
        "an enum value renumbered": header_text.replace("KT_STATUS_IO = 13", "KT_STATUS_IO = 14"),
        "a parameter type changed": re.sub(
            r"(kt_status kt_key_sign\(const kt_key \*key,\s*const uint8_t \*message,\s*)size_t len",
            r"\1uint32_t len", header_text, count=1,
        ),
    }
    failures = 0
    for name, broken in cases.items():
        if broken == header_text:
            print(f"abi-check self-test: could not apply '{name}' to the header", file=sys.stderr)
            failures += 1
            continue
        _, entries = header_entries(broken)
        ok, msg = verdict(base_version, base, version, entries | library_set)
        if ok or "BACKWARD-INCOMPATIBLE" not in msg:
            print(f"abi-check self-test: '{name}' was not refused:\n{msg}", file=sys.stderr)
            failures += 1
        else:
            print(f"abi-check self-test: refused {name}")
    dropped = sorted(library_set)[0]
    ok, msg = verdict(base_version, base, version, current | (library_set - {dropped}))
    if ok or dropped not in msg:
        print(f"abi-check self-test: removing {dropped} was not refused", file=sys.stderr)
        failures += 1
    else:
        print(f"abi-check self-test: refused the removal of exported '{dropped}'")
    ok, msg = verdict(base_version, base, version, current | library_set | {"symbol T kt_new_function"})
    if ok or "raise the minor version" not in msg:
        print("abi-check self-test: an addition without a minor version bump was not refused", file=sys.stderr)
        failures += 1
    else:
        print("abi-check self-test: refused an addition without a minor version bump")
    bumped = (base_version[0] + 1, 0, 0)
    ok, _ = verdict(base_version, base, bumped, current | (library_set - {dropped}))
    if not ok:
        print("abi-check self-test: a removal with a major version bump was refused", file=sys.stderr)
        failures += 1
    else:
        print("abi-check self-test: accepted a removal with a major version bump")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--header", required=True)
    ap.add_argument("--library", required=True, help="the shared library (libkt_ffi.so...)")
    ap.add_argument("--baseline", default=DEFAULT_BASELINE)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--update", action="store_true", help="record the current ABI, if the version allows")
    mode.add_argument("--self-test", action="store_true", help="prove that breaking changes are refused")
    args = ap.parse_args()

    with open(args.header) as f:
        header_text = f.read()
    version, current = header_entries(header_text)
    library_set = library_entries(args.library)
    if not any(e.startswith("symbol T kt_") for e in library_set):
        sys.exit(f"abi-check: {args.library} exports no kt_ function")
    current |= library_set

    if not os.path.exists(args.baseline):
        if not args.update:
            sys.exit(f"abi-check: no baseline {args.baseline}: create it with --update")
        write_baseline(args.baseline, version, current)
        print(f"abi-check: wrote the first baseline ({len(current)} entries) to {args.baseline}")
        return
    base_version, base = read_baseline(args.baseline)

    if args.self_test:
        failures = self_test(header_text, library_set, base_version, base)
        sys.exit(1 if failures else 0)

    ok, msg = verdict(base_version, base, version, current)
    if current == base:
        print(f"abi-check: {msg}; {len(base)} entries (symbols, declarations, enum values, macros)")
        return
    if not ok:
        sys.exit(f"abi-check: {msg}")
    if args.update:
        write_baseline(args.baseline, version, current)
        print(f"abi-check: recorded {msg}")
        return
    sys.exit(f"abi-check: the baseline is out of date ({msg}); run with --update and commit it")


if __name__ == "__main__":
    main()
