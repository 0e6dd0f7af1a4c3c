"""liblwmi's ABI stays tidy: the functions <lwmi/lwmi.h> exports
(LWMI_EXPORT), the version script src/lib/lwmi.sym and the dynamic symbols
of the built library name exactly the same set, every symbol carries a
version node of lwmi.sym, and the soname is liblwmi.so.0.

Usage: check-abi.py HEADER VERSION_SCRIPT LIBRARY"""

import re
import subprocess
import sys


def main(header, script, library):
    with open(header) as f:
        text = f.read()
    declared = set(re.findall(r"LWMI_EXPORT\s[^;{(]*?\b(lwmi_\w+)\s*\(", text))
    with open(script) as f:
        script_text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    nodes = re.findall(r"(\w+)\s*\{", script_text)
    listed = set(re.findall(r"^\s*(lwmi_\w+)\s*;", script_text, flags=re.M))
    out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                         text=True, check=True).stdout
    exported, versions = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) != 3 or fields[1] == "A":
            continue
        name, _, version = fields[2].partition("@@")
        exported.add(name)
        versions.add(version)
    soname = subprocess.run(["readelf", "-d", library], capture_output=True, text=True,
                            check=True).stdout
    problems = []
    if declared != listed:
        problems.append("header vs lwmi.sym: only in the header %s, only in lwmi.sym %s"
                        % (sorted(declared - listed), sorted(listed - declared)))
    if exported != listed:
        problems.append("library vs lwmi.sym: only exported %s, only listed %s"
                        % (sorted(exported - listed), sorted(listed - exported)))
    if not versions <= set(nodes):
        problems.append("symbols without a version node of lwmi.sym: %s" % sorted(versions))
    if "[liblwmi.so.0]" not in soname:
        problems.append("soname is not liblwmi.so.0")
    for p in problems:
        print("check-abi: " + p)
    if not problems:
        print("check-abi: %d symbols, versions %s" % (len(listed), sorted(versions)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
