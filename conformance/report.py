"""Reports of a `conformance.runner.RunResult`: a text table, a Markdown file and JUnit XML."""

import xml.etree.ElementTree as ET

COLUMNS = ("case", "family", "max abs diff", "max rel diff", "vs numpy", "verdict")


def _num(v):
    if v is None:
        return "-"
    if v != v:  # NaN
        return "nan"
    return "0" if v == 0 else f"{v:.2e}"


def _vs_numpy(c):
    if c.ref_ok is None:
        return "-"
    return ("ok " if c.ref_ok else "FAIL ") + _num(c.ref_max_abs)


def rows(result):
    return [(c.name, c.family, _num(c.max_abs), _num(c.max_rel), _vs_numpy(c), c.verdict) for c in result.cases]


def summary_line(result):
    line = f"conformance: {result.passed} passed, {result.failed} failed"
    extra = [f"backends: {', '.join(result.backends) or 'none'}"]
    if result.missing:
        extra.append(f"not installed: {', '.join(result.missing)}")
    extra.append(f"{result.wall_s:.1f}s")
    return f"{line} ({'; '.join(extra)})"


def _details(result):
    out = []
    for c in result.cases:
        if not c.passed:
            out.append(f"FAIL {c.name} ({c.tolerance})")
            out.extend(f"    {m}" for m in c.failures)
    return out


def _slowest(result, backend, n=3):
    timed = sorted(((c.times[backend], c.name) for c in result.cases if backend in c.times), reverse=True)[:n]
    return ("; slowest: " + ", ".join(f"{name} {t:.2f}s" for t, name in timed)) if timed else ""


def format_text(result, show_passed=True):
    """The report table, the failure details, the notes and the summary line, as printed by the CLI."""
    table = rows(result) if show_passed else [r for r in rows(result) if r[-1] != "PASS"]
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(COLUMNS)]
    widths[0] = min(widths[0], 48)

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) if 1 < i < 5 else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out += [line(r) for r in table]
    details = _details(result)
    if details:
        out += ["", "Failures:"] + details
    dtype_notes = [f"{c.name}: {n}" for c in result.cases for n in c.notes]
    if dtype_notes:
        out += ["", f"Notes ({len(dtype_notes)} dtype differences, not failures):"]
        out += [f"    {n}" for n in dtype_notes[:40]]
        if len(dtype_notes) > 40:
            out.append(f"    ... and {len(dtype_notes) - 40} more")
    env = [f"{b}: " + ", ".join(f"{k} {v}" for k, v in result.versions.get(b, {}).items())
           + (f"; worker {result.worker_s[b]:.1f}s ({result.worker_cpu_s.get(b, 0):.1f}s CPU)"
              if b in result.worker_s else "") + _slowest(result, b)
           for b in result.backends]
    out += [""] + env + result.notes + [summary_line(result)]
    return "\n".join(out)


def format_markdown(result):
    """The report as a Markdown document (for CI artifacts and pull-request comments)."""
    out = ["# kshim conformance report", "", summary_line(result), ""]
    out += [f"- {n}" for n in result.notes]
    out += [f"- {b}: " + ", ".join(f"{k} {v}" for k, v in result.versions.get(b, {}).items())
            for b in result.backends]
    out += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows(result):
        cells = [f"`{r[0]}`", *r[1:5], "PASS" if r[5] == "PASS" else "**FAIL**"]
        out.append("| " + " | ".join(cells) + " |")
    details = _details(result)
    if details:
        out += ["", "## Failures", "", "```"] + details + ["```"]
    notes = [f"- `{c.name}`: {n}" for c in result.cases for n in c.notes]
    if notes:
        out += ["", "## Notes (dtype differences, not failures)", ""] + notes
    return "\n".join(out) + "\n"


def junit_xml(result):
    """JUnit XML: one ``testcase`` per case (classname ``conformance.<family>``), a ``failure`` for each FAIL."""
    suite = ET.Element("testsuite", {
        "name": "kshim-conformance", "tests": str(len(result.cases)), "failures": str(result.failed),
        "errors": "0", "skipped": "0", "time": f"{result.wall_s:.3f}",
    })
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "backends", "value": ",".join(result.backends)})
    for b in result.backends:
        for k, v in result.versions.get(b, {}).items():
            ET.SubElement(props, "property", {"name": f"{b}.{k}", "value": str(v)})
    for c in result.cases:
        tc = ET.SubElement(suite, "testcase", {
            "classname": f"conformance.{c.family}", "name": c.name, "time": f"{max(c.times.values(), default=0):.4f}",
        })
        if not c.passed:
            failure = ET.SubElement(tc, "failure", {"message": c.failures[0][:500], "type": "ConformanceFailure"})
            failure.text = "\n".join(c.failures)
        info = [f"tolerance: {c.tolerance}", f"max abs diff: {_num(c.max_abs)}", f"max rel diff: {_num(c.max_rel)}",
                f"vs numpy: {_vs_numpy(c)}"] + c.notes
        ET.SubElement(tc, "system-out").text = "\n".join(info)
    root = ET.Element("testsuites", {"tests": str(len(result.cases)), "failures": str(result.failed),
                                     "errors": "0", "time": f"{result.wall_s:.3f}"})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
