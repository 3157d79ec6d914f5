"""Sum the per-test CPU seconds that ``KSHIM_TEST_CPU_TIMES=prefix`` recorded (see tests/conftest.py), per file.

    KSHIM_TEST_CPU_TIMES=/tmp/cpu KSHIM_BACKEND=jax pytest tests -n 2 ...
    python scripts/test_costs.py /tmp/cpu [--tests 20]
"""

import argparse
import collections
import glob
import json


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python scripts/test_costs.py")
    parser.add_argument("prefix", help="the KSHIM_TEST_CPU_TIMES prefix of the run")
    parser.add_argument("--files", type=int, default=40, help="how many of the costliest files to list")
    parser.add_argument("--tests", type=int, default=0, help="also list this many of the costliest tests")
    args = parser.parse_args(argv)
    per_test = {}
    for path in glob.glob(args.prefix + ".*"):
        with open(path) as f:
            for line in f:
                node, seconds = json.loads(line)
                per_test[node] = seconds
    per_file, counts = collections.Counter(), collections.Counter()
    for node, seconds in per_test.items():
        per_file[node.split("::")[0]] += seconds
        counts[node.split("::")[0]] += 1
    print(f"{sum(per_test.values()):.0f} CPU s in {len(per_test)} tests, {len(per_file)} files")
    for name, seconds in per_file.most_common(args.files):
        print(f"{seconds:8.1f}  {counts[name]:4d}  {name}")
    for node, seconds in sorted(per_test.items(), key=lambda kv: -kv[1])[:args.tests]:
        print(f"{seconds:8.1f}  {node}")


if __name__ == "__main__":
    main()
